-- ECS: the watched AWS accounts take the shape the collector needs, and app settings
-- (the ECS view's among them) get a table.
--
-- aws_accounts (0001) was never written by any release, so loosening it loses nothing:
-- role_arn NULL is the local account (the function's own credentials); account_id and
-- alias are learned by collections, so unknown until the first one.

ALTER TABLE aws_accounts
    ALTER COLUMN alias DROP NOT NULL,
    ALTER COLUMN account_id DROP NOT NULL,
    ALTER COLUMN role_arn DROP NOT NULL,
    ADD COLUMN name              text,
    ADD COLUMN role_account_id   text CHECK (role_account_id ~ '^[0-9]{12}$'),
    ADD COLUMN last_collected_at bigint,
    ADD COLUMN last_error        text;

-- One registration per role, and one local account ('' stands for NULL).
CREATE UNIQUE INDEX aws_accounts_role_key ON aws_accounts ((coalesce(role_arn, '')));
CREATE INDEX aws_accounts_by_created ON aws_accounts (created_at, id);

CREATE TABLE settings (
    key   text COLLATE "C" PRIMARY KEY,      -- e.g. 'ecs'
    value jsonb NOT NULL
);
