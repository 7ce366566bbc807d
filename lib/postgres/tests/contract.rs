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
        ecs_accounts,
    ],
}

#[tokio::test]
async fn ecs_corrupt_settings_are_corrupt() {
    use sentinel_store::{EcsAccountStore, StoreError};

    let db = TestDb::create().await;
    db.raw_client()
        .await
        .batch_execute(
            r#"INSERT INTO settings (key, value) VALUES ('ecs', '{"users_can_view_ecs": "yes"}')"#,
        )
        .await
        .expect("tamper");
    let err = db
        .store()
        .ecs_settings()
        .await
        .expect_err("settings of the wrong shape must fail");
    assert!(
        matches!(err, StoreError::Corrupt(_)) && !err.is_retryable(),
        "corrupt, not worth a retry: {err:?}"
    );
}

#[tokio::test]
async fn ecs_an_account_with_half_an_external_id_is_corrupt() {
    use sentinel_store::contract::ecs_accounts::local_ecs_account;
    use sentinel_store::{EcsAccountStore, StoreError};

    let db = TestDb::create().await;
    db.store()
        .create_ecs_account(&local_ecs_account("acc-1", 1))
        .await
        .expect("create");
    // The table's CHECK forbids this; drop it to simulate damage from outside.
    let raw = db.raw_client().await;
    raw.batch_execute(
        "ALTER TABLE aws_accounts DROP CONSTRAINT aws_accounts_check;
         UPDATE aws_accounts SET key_id = 'k1' WHERE id = 'acc-1'",
    )
    .await
    .expect("tamper");
    let err = db
        .store()
        .get_ecs_account("acc-1")
        .await
        .expect_err("must fail");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
}
