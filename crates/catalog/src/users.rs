//! The `app_user` and `user_session` tables: accounts (password hash, company,
//! second-factor secret) and their sessions (only a hash of each token is
//! stored). Designations, pledges and instructions are in [`crate::people`].

use mimamori_base::{Timestamp, UserId};
use sqlx::Row;

use crate::{Catalog, CatalogError, Result};

/// A person with an account.
#[derive(Clone, Debug)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    /// Empty for the installer's own staff; the company for contractors and outsourced operators.
    pub organization: String,
    /// TOTP secret when the person has enrolled a second factor.
    pub totp_secret: Option<Vec<u8>>,
    pub created_at: Timestamp,
}

pub(crate) const USER_COLUMNS: &str =
    "id, username, display_name, password_hash, organization, totp_secret, created_at_us";

/// A session: who, its CSRF token, and its times.
#[derive(Clone, Debug)]
pub struct Session {
    pub user_id: UserId,
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
}

impl Catalog {
    /// Everyone with an account, by user name.
    pub async fn users(&self) -> Result<Vec<User>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM app_user ORDER BY username",
            USER_COLUMNS
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    pub async fn user_set_totp(&self, user: UserId, secret: Option<&[u8]>) -> Result<()> {
        sqlx::query("UPDATE app_user SET totp_secret = $1 WHERE id = $2")
            .bind(secret)
            .bind(user.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM app_user WHERE username = $1"
        )))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn user(&self, id: UserId) -> Result<User> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM app_user WHERE id = $1"
        )))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| CatalogError::NotFound(format!("user {id}")))?;
        user_from_row(&row)
    }

    pub async fn user_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM app_user")
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn session_insert(&self, token_sha256: &[u8], s: &Session) -> Result<()> {
        sqlx::query(
            "INSERT INTO user_session (token_sha256, user_id, csrf_token, created_at_us, last_seen_at_us, expires_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_sha256)
        .bind(s.user_id.0)
        .bind(&s.csrf_token)
        .bind(s.created_at.0)
        .bind(s.last_seen_at.0)
        .bind(s.expires_at.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn session(&self, token_sha256: &[u8]) -> Result<Option<Session>> {
        let row = sqlx::query(
            "SELECT user_id, csrf_token, created_at_us, last_seen_at_us, expires_at_us FROM user_session \
             WHERE token_sha256 = $1",
        )
        .bind(token_sha256)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(Session {
                user_id: UserId(r.try_get("user_id")?),
                csrf_token: r.try_get("csrf_token")?,
                created_at: Timestamp(r.try_get("created_at_us")?),
                last_seen_at: Timestamp(r.try_get("last_seen_at_us")?),
                expires_at: Timestamp(r.try_get("expires_at_us")?),
            })
        })
        .transpose()
    }

    pub async fn user_set_password(&self, id: UserId, password_hash: &str) -> Result<()> {
        sqlx::query("UPDATE app_user SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A person's sessions: (token hash, created, last seen, expires), newest first.
    pub async fn sessions_of(
        &self,
        user: UserId,
    ) -> Result<Vec<(Vec<u8>, Timestamp, Timestamp, Timestamp)>> {
        let rows = sqlx::query(
            "SELECT token_sha256, created_at_us, last_seen_at_us, expires_at_us FROM user_session WHERE user_id = $1 \
             ORDER BY created_at_us DESC",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("token_sha256")?,
                    Timestamp(r.try_get("created_at_us")?),
                    Timestamp(r.try_get("last_seen_at_us")?),
                    Timestamp(r.try_get("expires_at_us")?),
                ))
            })
            .collect()
    }

    /// Ends every session of a person except `keep`.
    pub async fn sessions_end_others(&self, user: UserId, keep: &[u8]) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM user_session WHERE user_id = $1 AND token_sha256 <> $2")
                .bind(user.0)
                .bind(keep)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    pub async fn session_touch(&self, token_sha256: &[u8], now: Timestamp) -> Result<()> {
        sqlx::query("UPDATE user_session SET last_seen_at_us = $1 WHERE token_sha256 = $2")
            .bind(now.0)
            .bind(token_sha256)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn session_delete(&self, token_sha256: &[u8]) -> Result<()> {
        sqlx::query("DELETE FROM user_session WHERE token_sha256 = $1")
            .bind(token_sha256)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

pub(crate) fn user_from_row(r: &sqlx::any::AnyRow) -> Result<User> {
    Ok(User {
        id: UserId(r.try_get("id")?),
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        password_hash: r.try_get("password_hash")?,
        organization: r.try_get("organization")?,
        totp_secret: r.try_get("totp_secret")?,
        created_at: Timestamp(r.try_get("created_at_us")?),
    })
}
