//! Signing in and staying signed in: password check (argon2id), an optional TOTP
//! second factor (required where the policy says so), sessions (only a hash of
//! each token is stored; they end on expiry, idleness or the end of the
//! designation), a backoff then a short lock after repeated failures, and no
//! login without a designation valid now. Also a person's own password, sessions
//! and second factor, and the console's recovery of them.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use base64::Engine;
use mimamori_base::{Timestamp, UserId};
use mimamori_catalog::{Session, User};
use mimamori_crypto::password::{DUMMY_HASH, verify_password};
use mimamori_policy::RoleKind;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::Governance;
use crate::access;
use crate::actor::{Actor, Origin, Person};
use crate::audit::Entry;
use crate::error::{Error, Result};
use crate::input::Password;
use crate::people::hash;

const MAX_FAILURES: u32 = 5;
const LOCK_MICROS: i64 = 60_000_000;

/// How long sessions last.
#[derive(Clone, Debug)]
pub struct SessionSettings {
    /// A session ends this long after login, whatever happens.
    pub max_micros: i64,
    /// A session ends after this long without a request.
    pub idle_micros: i64,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            max_micros: 12 * 3600 * 1_000_000,
            idle_micros: 30 * 60 * 1_000_000,
        }
    }
}

/// A person signed in, as one request sees them.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub person: Person,
    /// The session's CSRF token (forms and scripts send it back).
    pub csrf: String,
    token_hash: Vec<u8>,
}

impl SignedIn {
    /// The actor for operations.
    pub fn actor(&self) -> Actor {
        Actor::Person(Box::new(self.person.clone()))
    }

    pub fn token_hash(&self) -> &[u8] {
        &self.token_hash
    }
}

/// One session of a person, for their account page.
#[derive(Clone, Debug)]
pub struct SessionInfo {
    /// A short public id (the first bytes of the token hash, hex).
    pub id: String,
    pub created: Timestamp,
    pub last_seen: Timestamp,
    pub expires: Timestamp,
    /// The session this request belongs to.
    pub current: bool,
}

/// How a login ended.
#[derive(Debug)]
pub enum LoginOutcome {
    Ok {
        /// The session token for the cookie (only its hash is stored).
        token: String,
        csrf: String,
        user: User,
        role: RoleKind,
    },
    Failed,
    Locked,
    /// Password right; a valid one-time code is needed (or was wrong).
    NeedsCode,
    /// The role requires a second factor and none is enrolled.
    NeedsEnrollment,
    /// Password right, but no designation is valid now (ended, not started, removed role).
    NotDesignated(String),
}

/// Failed attempts per user name, in memory.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, Timestamp)>>,
}

impl LoginThrottle {
    fn locked(&self, username: &str, now: Timestamp) -> bool {
        let map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        matches!(map.get(username), Some((n, at)) if *n >= MAX_FAILURES && now.0 - at.0 < LOCK_MICROS)
    }

    /// Counts a failure; returns the number of recent failures of this name.
    fn fail(&self, username: &str, now: Timestamp) -> u32 {
        let mut map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let e = map.entry(username.to_string()).or_insert((0, now));
        if now.0 - e.1.0 >= LOCK_MICROS {
            *e = (0, now);
        }
        e.0 += 1;
        e.1 = now;
        e.0
    }

    fn clear(&self, username: &str) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(username);
    }
}

/// How long to wait before answering the n-th recent failure of a name:
/// nothing for the first, then 0.2 s, 0.4 s, 0.8 s … (the name locks after five).
fn backoff(failures: u32) -> std::time::Duration {
    let steps = failures.saturating_sub(1).min(4);
    std::time::Duration::from_millis(if steps == 0 { 0 } else { 100 << steps })
}

fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn session_id(hash: &[u8]) -> String {
    hex::encode(&hash[..hash.len().min(8)])
}

fn failed(detail: &str) -> Entry {
    Entry::new("login_failed", detail)
}

impl Governance {
    /// Checks credentials and opens a session. Every outcome is logged.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        code: Option<&str>,
        origin: &Origin,
    ) -> Result<LoginOutcome> {
        let now = self.clock.now();
        let log = |detail: &str| {
            self.audit
                .record_visitor(None, username, origin, failed(detail))
        };
        if self.throttle.locked(username, now) {
            log("locked after repeated failures").await?;
            return Ok(LoginOutcome::Locked);
        }
        let user = self.catalog.user_by_name(username).await?;
        // Verify even for unknown users so that timing does not tell which names exist.
        let hash = user
            .as_ref()
            .map(|u| u.password_hash.clone())
            .unwrap_or_else(|| DUMMY_HASH.to_string());
        let pw = password.to_string();
        let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &pw))
            .await
            .unwrap_or(false);
        let (Some(user), true) = (user, ok) else {
            let failures = self.throttle.fail(username, now);
            // Backoff: each further failure of the same name waits longer before answering.
            tokio::time::sleep(backoff(failures)).await;
            tracing::info!(username, "login failed");
            log("wrong user name or password").await?;
            return Ok(LoginOutcome::Failed);
        };
        let role = match access::designation_at(&self.catalog, &self.policy, user.id, now).await? {
            Ok((role, _)) => role,
            Err(refusal) => {
                log(&refusal.to_string()).await?;
                return Ok(LoginOutcome::NotDesignated(refusal.to_string()));
            }
        };
        let code = code.map(str::trim).filter(|c| !c.is_empty());
        match (&user.totp_secret, code) {
            (Some(secret), Some(code)) => {
                if !mimamori_crypto::totp::verify(secret, code, now.0.div_euclid(1_000_000)) {
                    let failures = self.throttle.fail(username, now);
                    tokio::time::sleep(backoff(failures)).await;
                    log("wrong one-time code").await?;
                    return Ok(LoginOutcome::NeedsCode);
                }
            }
            (Some(_), None) => return Ok(LoginOutcome::NeedsCode),
            (None, _) => {
                if self.policy.role(role).is_some_and(|r| r.totp_required) {
                    log("second factor required by the policy but not enrolled").await?;
                    return Ok(LoginOutcome::NeedsEnrollment);
                }
            }
        }
        self.throttle.clear(username);
        let token = random_token();
        let csrf = random_token();
        self.catalog
            .session_insert(
                &token_hash(&token),
                &Session {
                    user_id: user.id,
                    csrf_token: csrf.clone(),
                    created_at: now,
                    last_seen_at: now,
                    expires_at: now.add_micros(self.session_settings.max_micros),
                },
            )
            .await?;
        tracing::info!(username, "login");
        self.audit
            .record_visitor(
                Some(user.id),
                &user.username,
                origin,
                Entry::new("login", ""),
            )
            .await?;
        Ok(LoginOutcome::Ok {
            token,
            csrf,
            user,
            role,
        })
    }

    /// The person behind a session token, if the session is valid: not expired, not
    /// idle too long, and their designation still valid (else the session ends).
    pub async fn session(&self, token: &str, origin: Origin) -> Result<Option<SignedIn>> {
        let hash = token_hash(token);
        let Some(session) = self.catalog.session(&hash).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        if now >= session.expires_at
            || now.0 - session.last_seen_at.0 > self.session_settings.idle_micros
        {
            self.catalog.session_delete(&hash).await?;
            return Ok(None);
        }
        let Ok((role, designation)) =
            access::designation_at(&self.catalog, &self.policy, session.user_id, now).await?
        else {
            // The designation ended during the session: it ends too.
            self.catalog.session_delete(&hash).await?;
            return Ok(None);
        };
        self.catalog.session_touch(&hash, now).await?;
        let user = self.catalog.user(session.user_id).await?;
        Ok(Some(SignedIn {
            person: Person {
                user,
                role,
                designation,
                permissions: self
                    .policy
                    .role(role)
                    .map(|r| r.permissions.clone())
                    .unwrap_or_default(),
                origin,
            },
            csrf: session.csrf_token,
            token_hash: hash,
        }))
    }

    /// Ends the session (logged).
    pub async fn logout(&self, s: &SignedIn) -> Result<()> {
        let logged = self
            .audit
            .record(&s.actor(), Entry::new("logout", ""))
            .await;
        self.catalog.session_delete(s.token_hash()).await?;
        logged.map(|_| ())
    }

    /// The person's sessions, newest first.
    pub async fn sessions_of(&self, s: &SignedIn) -> Result<Vec<SessionInfo>> {
        Ok(self
            .catalog
            .sessions_of(s.person.user.id)
            .await?
            .into_iter()
            .map(|(hash, created, last_seen, expires)| SessionInfo {
                id: session_id(&hash),
                created,
                last_seen,
                expires,
                current: hash.as_slice() == s.token_hash(),
            })
            .collect())
    }

    /// Ends one of the person's own sessions.
    pub async fn session_revoke(&self, s: &SignedIn, id: &str) -> Result<()> {
        let sessions = self.catalog.sessions_of(s.person.user.id).await?;
        let Some((hash, ..)) = sessions.iter().find(|(h, ..)| session_id(h) == id) else {
            return Err(Error::NotFound("no such session".into()));
        };
        self.catalog.session_delete(hash).await?;
        self.audit
            .record(
                &s.actor(),
                Entry::new("session_revoked", format!("session {id}")),
            )
            .await?;
        Ok(())
    }

    /// Changes the person's password after checking the current one; their other
    /// sessions end. Returns how many ended.
    pub async fn password_change(&self, s: &SignedIn, current: &str, new: &str) -> Result<u64> {
        let cur = current.to_string();
        let stored = s.person.user.password_hash.clone();
        let ok = tokio::task::spawn_blocking(move || verify_password(&stored, &cur))
            .await
            .unwrap_or(false);
        if !ok {
            return Err(Error::Denied("the current password is wrong".into()));
        }
        let new = Password::parse(new)?;
        if new.expose() == current {
            return Err(Error::bad_input(
                "the new password must differ from the current one",
            ));
        }
        let hashed = hash(new).await?;
        self.catalog
            .user_set_password(s.person.user.id, &hashed)
            .await?;
        let ended = self
            .catalog
            .sessions_end_others(s.person.user.id, s.token_hash())
            .await?;
        self.audit
            .record(
                &s.actor(),
                Entry::new(
                    "password_changed",
                    format!("{ended} other session(s) ended"),
                ),
            )
            .await?;
        Ok(ended)
    }

    /// Sets a person's password (a forgotten one; the console only): every session
    /// of theirs ends. Returns how many ended.
    pub async fn password_set(&self, actor: &Actor, username: &str, new: &str) -> Result<u64> {
        let user = self.console_target(actor, username).await?;
        let hashed = hash(Password::parse(new)?).await?;
        self.catalog.user_set_password(user.id, &hashed).await?;
        let ended = self.catalog.sessions_end_others(user.id, &[]).await?;
        self.audit
            .record(
                actor,
                Entry::new(
                    "password_changed",
                    format!("{username}: password set; {ended} session(s) ended"),
                ),
            )
            .await?;
        Ok(ended)
    }

    /// Stores a second-factor secret once a code from it is right (the person's own
    /// enrolment). Returns whether the code was right.
    pub async fn totp_confirm(&self, s: &SignedIn, secret: &[u8], code: &str) -> Result<bool> {
        if secret.len() < 10 {
            return Err(Error::bad_input("secret: not a base32 secret"));
        }
        let now = self.clock.now().0.div_euclid(1_000_000);
        if !mimamori_crypto::totp::verify(secret, code, now) {
            return Ok(false);
        }
        self.catalog
            .user_set_totp(s.person.user.id, Some(secret))
            .await?;
        self.audit
            .record(&s.actor(), Entry::new("totp_enrolled", ""))
            .await?;
        Ok(true)
    }

    /// Sets a new second-factor secret for a person (the console only); returns it.
    pub async fn totp_set(&self, actor: &Actor, username: &str) -> Result<Vec<u8>> {
        let user = self.console_target(actor, username).await?;
        let secret = mimamori_crypto::totp::new_secret();
        self.catalog.user_set_totp(user.id, Some(&secret)).await?;
        self.audit
            .record(
                actor,
                Entry::new("totp_enrolled", format!("{username}: second factor set")),
            )
            .await?;
        Ok(secret)
    }

    /// A person the console acts on (recovery operations are the console's alone).
    async fn console_target(&self, actor: &Actor, username: &str) -> Result<User> {
        if !matches!(actor, Actor::Console { .. }) {
            return Err(Error::Denied(
                "only the command line on the server sets another person's credentials".into(),
            ));
        }
        self.catalog
            .user_by_name(username)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no user {username:?}")))
    }

    /// Everyone with an account and their role now (the console's `user list`).
    pub async fn people_now(&self, actor: &Actor) -> Result<Vec<(User, Option<RoleKind>)>> {
        self.require(actor, mimamori_policy::Permission::Designate)
            .await?;
        let now = self.clock.now();
        let mut out = Vec::new();
        for u in self.catalog.users().await? {
            let role = self
                .catalog
                .designation_at(u.id, now)
                .await?
                .and_then(|d| RoleKind::parse(&d.role));
            out.push((u, role));
        }
        Ok(out)
    }

    /// The person's id, for callers holding only a name.
    pub async fn user_id_of(&self, username: &str) -> Result<Option<UserId>> {
        Ok(self.catalog.user_by_name(username).await?.map(|u| u.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_locks_after_repeated_failures() {
        let t = LoginThrottle::default();
        let now = Timestamp::from_secs(100);
        for _ in 0..MAX_FAILURES {
            assert!(!t.locked("a", now));
            t.fail("a", now);
        }
        assert!(t.locked("a", now));
        assert!(!t.locked("b", now));
        assert!(!t.locked("a", now.add_micros(LOCK_MICROS)));
    }

    #[test]
    fn backoff_grows_with_failures() {
        assert_eq!(backoff(1).as_millis(), 0);
        assert_eq!(backoff(2).as_millis(), 200);
        assert_eq!(backoff(4).as_millis(), 800);
        assert_eq!(backoff(9).as_millis(), 1600);
    }
}
