//! The contract suite on PostgreSQL, one throw-away database per test.

mod common;

use common::TestDb;

sentinel_store::contract_tests! {
    setup: TestDb::create().await,
    store: TestDb::store,
    ports: [
        monitors,
        incidents,
        alert_ledger,
        users,
        tokens,
        api_keys,
        channels,
        monitor_records,
        rate_limits,
    ],
}
