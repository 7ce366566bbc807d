-- Accounts and configuration: users and their credentials, monitors, alert channels
-- made through the API, and the AWS accounts the ECS collector assumes roles in.
--
-- Times are Unix milliseconds (bigint), as in the domain. Text columns that lists are
-- ordered by use COLLATE "C" (byte order), so every backend lists in the same order
-- whatever the database's locale.

CREATE TABLE users (
    id            text COLLATE "C" PRIMARY KEY,
    email         text    NOT NULL,          -- normalised (trimmed, lowercase) by the domain
    role          text    NOT NULL CHECK (role IN ('admin', 'monitor', 'user')),
    password_hash text    NOT NULL,          -- PHC string
    disabled      boolean NOT NULL,
    created_at    bigint  NOT NULL,
    updated_at    bigint  NOT NULL
);

-- lower(): unique case-insensitively even if a row ever skipped normalisation.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_by_created ON users (created_at, id);

-- Only SHA-256 hashes of tokens are stored.
CREATE TABLE refresh_tokens (
    token_hash text PRIMARY KEY,
    user_id    text    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id  text    NOT NULL,             -- every token rotated from one login
    created_at bigint  NOT NULL,
    expires_at bigint  NOT NULL,
    spent_at   bigint,                       -- set when rotated
    revoked    boolean NOT NULL DEFAULT false
);

CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id, expires_at);

CREATE TABLE password_reset_tokens (
    token_hash text PRIMARY KEY,
    user_id    text   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at bigint NOT NULL
);

CREATE INDEX password_reset_tokens_by_user ON password_reset_tokens (user_id);
CREATE INDEX password_reset_tokens_by_expiry ON password_reset_tokens (expires_at);

CREATE TABLE api_keys (
    id           text COLLATE "C" PRIMARY KEY,
    user_id      text   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text   NOT NULL,
    prefix       text   NOT NULL,            -- first characters, shown in lists
    key_hash     text   NOT NULL,            -- SHA-256 (hex) of the key
    scope        text   NOT NULL CHECK (scope IN ('read', 'write')),
    created_at   bigint NOT NULL,
    expires_at   bigint,
    last_used_at bigint,
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash)
);

CREATE INDEX api_keys_by_user ON api_keys (user_id, created_at DESC, id DESC);

-- Monitors from the YAML file (origin 'config', no owner) and from the API. No foreign
-- key on owner: what happens to a deleted user's monitors is the API's call.
CREATE TABLE monitors (
    id         text COLLATE "C" PRIMARY KEY,
    spec       jsonb  NOT NULL,              -- MonitorSpec
    owner      text,
    origin     text   NOT NULL CHECK (origin IN ('config', 'api')),
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);

CREATE INDEX monitors_by_owner ON monitors (owner, id);

-- Secrets (webhook URLs, signing secrets) only as AES-256-GCM ciphertext. No foreign
-- key on owner, as for monitors.
CREATE TABLE alert_channels (
    id         text COLLATE "C" PRIMARY KEY,
    owner      text COLLATE "C" NOT NULL,
    name       text COLLATE "C" NOT NULL,
    kind       text   NOT NULL,              -- webhook, slack, discord, email
    config     jsonb  NOT NULL,              -- nothing secret
    secret     bytea  NOT NULL,
    key_id     text   NOT NULL,              -- which encryption key
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    CONSTRAINT alert_channels_owner_name_key UNIQUE (owner, name)
);

CREATE INDEX alert_channels_by_name ON alert_channels (name, owner, id);

-- AWS accounts whose ECS clusters are watched through an assumed role. The external
-- id is a secret: stored encrypted like channel secrets.
CREATE TABLE aws_accounts (
    id                 text COLLATE "C" PRIMARY KEY,
    alias              text   NOT NULL,
    account_id         text   NOT NULL CHECK (account_id ~ '^[0-9]{12}$'),
    role_arn           text   NOT NULL,
    external_id_cipher bytea,                -- AES-256-GCM ciphertext, NULL: none
    key_id             text,                 -- key of external_id_cipher
    regions            text[] NOT NULL DEFAULT '{}',
    created_at         bigint NOT NULL,
    updated_at         bigint NOT NULL,
    CHECK ((external_id_cipher IS NULL) = (key_id IS NULL))
);

CREATE INDEX aws_accounts_by_account ON aws_accounts (account_id);
