//! The store contract suite against a real MongoDB-compatible server (SecantusDB),
//! each behaviour in a fresh database that is dropped when the test ends.

mod common;

use common::TestDb;

sentinel_store::contract_tests! {
    setup: TestDb::create().await,
    store: TestDb::store,
    ports: [ping_log],
}
