//! The caller of a request, and the access rules every route group applies the same way.
//!
//! Rules: `admin` may do everything; `monitor` reads everything and changes nothing;
//! `user` reads and changes only what it owns. Another user's resource answers 404 (its
//! existence is not revealed); a forbidden action on a visible resource answers 403.
//! An API key acts as its user, limited by its scope (`read`: GET only).

use sentinel_core::account::{KeyScope, Role, UserId};

use crate::ApiError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// A browser session: access JWT (refresh cookie). State-changing requests need
    /// the CSRF token.
    Session,
    /// `Authorization: Bearer snt_…` or `X-API-Key`. Exempt from CSRF.
    ApiKey { key_id: String, scope: KeyScope },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub role: Role,
    pub method: AuthMethod,
}

impl Principal {
    /// May see a resource owned by `owner` (`None`: config monitors, owned by admins).
    pub fn can_see(&self, owner: Option<&UserId>) -> bool {
        self.role.reads_everything() || owner == Some(&self.user_id)
    }

    /// May change anything at all (role and key scope).
    pub fn require_write(&self) -> Result<(), ApiError> {
        if !self.role.may_write() {
            return Err(ApiError::Forbidden {
                code: "read_only_role",
                message: "the monitor role is read-only".into(),
            });
        }
        if let AuthMethod::ApiKey {
            scope: KeyScope::Read,
            ..
        } = self.method
        {
            return Err(ApiError::Forbidden {
                code: "read_only_key",
                message: "this API key has the read scope".into(),
            });
        }
        Ok(())
    }

    /// May change a resource owned by `owner`. Call after `can_see` answered true
    /// (else answer 404).
    pub fn require_modify(&self, owner: Option<&UserId>) -> Result<(), ApiError> {
        self.require_write()?;
        if self.role.is_admin() || owner == Some(&self.user_id) {
            Ok(())
        } else {
            Err(ApiError::forbidden("you may not change this resource"))
        }
    }

    /// Actions only a signed-in person may take, never an API key: managing users,
    /// creating or deleting keys, changing the password.
    pub fn require_session(&self) -> Result<(), ApiError> {
        match self.method {
            AuthMethod::Session => Ok(()),
            AuthMethod::ApiKey { .. } => Err(ApiError::Forbidden {
                code: "session_required",
                message: "API keys cannot do this; sign in instead".into(),
            }),
        }
    }

    /// Admin-only actions (user management).
    pub fn require_admin(&self) -> Result<(), ApiError> {
        self.require_write()?;
        if self.role.is_admin() {
            Ok(())
        } else {
            Err(ApiError::forbidden("admins only"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(role: Role, method: AuthMethod) -> Principal {
        Principal {
            user_id: UserId("u1".into()),
            role,
            method,
        }
    }

    #[test]
    fn the_rules_of_the_three_roles() {
        let me = UserId("u1".into());
        let other = UserId("u2".into());
        let user = who(Role::User, AuthMethod::Session);
        assert!(user.can_see(Some(&me)) && !user.can_see(Some(&other)) && !user.can_see(None));
        assert!(user.require_modify(Some(&me)).is_ok());
        assert!(user.require_modify(Some(&other)).is_err());
        assert!(user.require_admin().is_err());

        let monitor = who(Role::Monitor, AuthMethod::Session);
        assert!(monitor.can_see(Some(&other)) && monitor.can_see(None));
        assert!(monitor.require_write().is_err());

        let admin = who(Role::Admin, AuthMethod::Session);
        assert!(admin.require_modify(Some(&other)).is_ok() && admin.require_admin().is_ok());

        let read_key = who(
            Role::Admin,
            AuthMethod::ApiKey {
                key_id: "k".into(),
                scope: KeyScope::Read,
            },
        );
        assert!(read_key.can_see(Some(&other)));
        assert!(read_key.require_write().is_err() && read_key.require_admin().is_err());
        assert!(read_key.require_session().is_err() && admin.require_session().is_ok());
    }
}
