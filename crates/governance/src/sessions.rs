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
    /// Too many logins at once; nothing was checked.
    Busy,
}

/// Attempts per user name, in memory: failures in the lock window, and attempts
/// whose password is being checked right now. An attempt is counted before its
/// check (see [`LoginThrottle::begin`]), so parallel guesses cannot get past the
/// lock; password checks run a few at a time, so parallel logins cannot exhaust
/// memory (argon2id takes ~19 MiB each).
#[derive(Debug)]
pub struct LoginThrottle {
    names: Mutex<HashMap<String, Attempts>>,
    checks: tokio::sync::Semaphore,
    /// Logins waiting for a check or for their name's turn.
    waiting: std::sync::atomic::AtomicUsize,
    /// Told whenever an attempt ends: the logins waiting for their name's turn look again.
    turn: tokio::sync::Notify,
    checker: PasswordChecker,
}

type Job = Box<dyn FnOnce() + Send>;

/// A few threads of their own for argon2id, started on first use: each thread keeps
/// the ~19 MiB it used for its next check, so a few threads bound the memory that
/// password checks can hold (the runtime's blocking pool could grow to hundreds).
struct PasswordChecker {
    jobs: std::sync::OnceLock<std::sync::mpsc::Sender<Job>>,
}

impl std::fmt::Debug for PasswordChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordChecker")
    }
}

impl PasswordChecker {
    fn jobs(&self) -> &std::sync::mpsc::Sender<Job> {
        self.jobs.get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel::<Job>();
            let rx = std::sync::Arc::new(Mutex::new(rx));
            for i in 0..CHECKS_AT_ONCE {
                let rx = rx.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("password-check-{i}"))
                    .spawn(move || {
                        loop {
                            let job = rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
                            match job {
                                Ok(job) => job(),
                                Err(_) => return,
                            }
                        }
                    });
                if let Err(e) = spawned {
                    tracing::error!("cannot start a password-check thread: {e}");
                }
            }
            tx
        })
    }

    /// Runs `f` on a checker thread.
    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs()
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .ok()?;
        rx.await.ok()
    }
}

#[derive(Debug, Clone, Copy)]
struct Attempts {
    failures: u32,
    last_failure: Timestamp,
    in_flight: u32,
}

/// Password checks at once (argon2id is memory-hard: this bounds its memory).
const CHECKS_AT_ONCE: usize = 2;
/// Logins that may wait for a check (a waiting login holds a few bytes, not the
/// check's memory); more are answered "busy" at once.
const MAX_WAITING: usize = 256;
/// How long a login waits for its name's turn (while as many attempts of the
/// name as the lock allows are being checked) before it is answered "busy".
const WAIT_FOR_TURN: std::time::Duration = std::time::Duration::from_secs(20);
/// Names remembered at most; stale ones are forgotten first.
const MAX_NAMES: usize = 10_000;
/// The longest password a login checks (longer ones cannot exist).
const MAX_CREDENTIAL_BYTES: usize = crate::input::MAX_PASSWORD_BYTES;

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle {
            names: Mutex::default(),
            checks: tokio::sync::Semaphore::new(CHECKS_AT_ONCE),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            turn: tokio::sync::Notify::new(),
            checker: PasswordChecker {
                jobs: std::sync::OnceLock::new(),
            },
        }
    }
}

/// One attempt of a name, counted until it ends: released as nothing, or as a failure.
struct Attempt<'a> {
    throttle: &'a LoginThrottle,
    name: String,
    open: bool,
}

impl Attempt<'_> {
    /// Counts the attempt as a failure; returns the recent failures of the name.
    fn fail(mut self, now: Timestamp) -> u32 {
        self.open = false;
        let mut map = self.throttle.lock();
        let e = map.entry(self.name.clone()).or_insert(Attempts {
            failures: 0,
            last_failure: now,
            in_flight: 1,
        });
        e.in_flight = e.in_flight.saturating_sub(1);
        if now.0 - e.last_failure.0 >= LOCK_MICROS {
            e.failures = 0;
        }
        e.failures += 1;
        e.last_failure = now;
        let failures = e.failures;
        drop(map);
        self.throttle.turn.notify_waiters();
        failures
    }

    /// The right credentials: the name's failures are forgotten (attempts of it
    /// still under way stay counted).
    fn succeed(mut self) {
        self.open = false;
        let mut map = self.throttle.lock();
        if let Some(e) = map.get_mut(&self.name) {
            e.in_flight = e.in_flight.saturating_sub(1);
            e.failures = 0;
            if e.in_flight == 0 {
                map.remove(&self.name);
            }
        }
        drop(map);
        self.throttle.turn.notify_waiters();
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if self.open {
            let mut map = self.throttle.lock();
            if let Some(e) = map.get_mut(&self.name) {
                e.in_flight = e.in_flight.saturating_sub(1);
            }
            drop(map);
            self.throttle.turn.notify_waiters();
        }
    }
}

/// Counts a login as waiting while it lives.
struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> Waiting<'a> {
    /// `None` when as many logins as may wait already do.
    fn enter(count: &'a std::sync::atomic::AtomicUsize) -> Option<Waiting<'a>> {
        use std::sync::atomic::Ordering;
        if count.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
            count.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(Waiting(count))
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Why an attempt was refused before its check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unchecked {
    /// Too many recent failures of the name.
    Locked,
    /// Too many attempts of the name under way (they may yet succeed).
    Busy,
}

impl LoginThrottle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Attempts>> {
        self.names.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts an attempt of `name` before its check, or refuses it. Recent
    /// failures and attempts under way together may not reach the limit: while
    /// the attempts under way fill it, this one waits its turn (they may yet
    /// succeed, or fail and lock the name); locked, it is refused. Busy when it
    /// waited [`WAIT_FOR_TURN`] or too many logins wait already.
    async fn begin(
        &self,
        name: &str,
        now: Timestamp,
    ) -> std::result::Result<Attempt<'_>, Unchecked> {
        let deadline = tokio::time::Instant::now() + WAIT_FOR_TURN;
        let mut waiting = None;
        loop {
            // Listening before looking: an attempt ending in between is not missed.
            let turn = self.turn.notified();
            tokio::pin!(turn);
            turn.as_mut().enable();
            match self.try_begin(name, now) {
                Err(Unchecked::Busy) => {
                    if waiting.is_none() {
                        waiting = Some(Waiting::enter(&self.waiting).ok_or(Unchecked::Busy)?);
                    }
                    tokio::time::timeout_at(deadline, turn)
                        .await
                        .map_err(|_| Unchecked::Busy)?;
                }
                other => return other,
            }
        }
    }

    /// [`LoginThrottle::begin`] without waiting: `Busy` when the attempts under way fill the limit.
    fn try_begin(&self, name: &str, now: Timestamp) -> std::result::Result<Attempt<'_>, Unchecked> {
        let mut map = self.lock();
        if map.len() >= MAX_NAMES {
            map.retain(|_, a| a.in_flight > 0 || now.0 - a.last_failure.0 < LOCK_MICROS);
            if map.len() >= MAX_NAMES {
                // Still full of fresh names: forget those with the fewest failures.
                map.retain(|_, a| a.in_flight > 0 || a.failures > 1);
            }
        }
        let e = map.entry(name.to_string()).or_insert(Attempts {
            failures: 0,
            last_failure: now,
            in_flight: 0,
        });
        if now.0 - e.last_failure.0 >= LOCK_MICROS {
            e.failures = 0;
        }
        if e.failures >= MAX_FAILURES {
            return Err(Unchecked::Locked);
        }
        if e.failures + e.in_flight >= MAX_FAILURES {
            return Err(Unchecked::Busy);
        }
        e.in_flight += 1;
        Ok(Attempt {
            throttle: self,
            name: name.to_string(),
            open: true,
        })
    }

    /// Runs a password check when one of the few slots is free; `None` when too
    /// many logins are already waiting.
    async fn check<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let waiting = Waiting::enter(&self.waiting)?;
        let permit = self.checks.acquire().await;
        drop(waiting);
        let _permit = permit.ok()?;
        self.checker.run(f).await
    }
}

/// A user name as logs and the audit log may hold it: printable, at most 64 characters.
fn shown_name(name: &str) -> String {
    let clean: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
    if clean.len() < name.len() {
        format!("{clean}…")
    } else {
        clean
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
    /// Checks credentials and opens a session. Every outcome is logged. Work done
    /// for a stranger is bounded before it starts: names and passwords longer than
    /// any that can exist are refused without a check, each name's attempts are
    /// counted before they are checked, and only a few checks run at once.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        code: Option<&str>,
        origin: &Origin,
    ) -> Result<LoginOutcome> {
        let now = self.clock.now();
        let name = shown_name(username);
        let log = |detail: &str| {
            self.audit
                .record_visitor(None, &name, origin, failed(detail))
        };
        let possible = username.len() <= 64
            && password.len() <= MAX_CREDENTIAL_BYTES
            && !username.chars().any(char::is_control);
        let attempt = match self.throttle.begin(&name, now).await {
            Ok(attempt) => attempt,
            Err(Unchecked::Locked) => {
                log("locked after repeated failures").await?;
                return Ok(LoginOutcome::Locked);
            }
            Err(Unchecked::Busy) => {
                log("too many logins at once").await?;
                return Ok(LoginOutcome::Busy);
            }
        };
        let user = if possible {
            self.catalog.user_by_name(username).await?
        } else {
            None
        };
        // Verify even for unknown users so that timing does not tell which names exist.
        let ok = if possible {
            let hash = user
                .as_ref()
                .map(|u| u.password_hash.clone())
                .unwrap_or_else(|| DUMMY_HASH.to_string());
            let pw = password.to_string();
            match self
                .throttle
                .check(move || verify_password(&hash, &pw))
                .await
            {
                Some(ok) => ok,
                None => {
                    log("too many logins at once").await?;
                    return Ok(LoginOutcome::Busy);
                }
            }
        } else {
            false
        };
        let (Some(user), true) = (user, ok) else {
            let failures = attempt.fail(now);
            // Backoff: each further failure of the same name waits longer before answering.
            tokio::time::sleep(backoff(failures)).await;
            tracing::info!(username = %name, "login failed");
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
        match (self.totp_secret_of(&user)?, code) {
            (Some(secret), Some(code)) => {
                if !self.totp_accept(user.id, &secret, code, now) {
                    let failures = attempt.fail(now);
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
        attempt.succeed();
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

    /// argon2id on the password-check threads (it takes tens of milliseconds and ~19 MiB).
    pub(crate) async fn hash_password(&self, password: Password) -> Result<String> {
        self.throttle
            .check(move || mimamori_crypto::password::hash_password(password.expose()))
            .await
            .ok_or_else(|| Error::Busy("too many password operations at once; try again".into()))?
            .map_err(Error::from)
    }

    /// Whether a session seen earlier is still valid now (not ended, expired or
    /// revoked; the designation still valid): long-lived answers such as live view
    /// ask this as they go, without counting it as activity.
    pub async fn still_signed_in(&self, s: &SignedIn) -> Result<bool> {
        let Some(session) = self.catalog.session(s.token_hash()).await? else {
            return Ok(false);
        };
        let now = self.clock.now();
        if now >= session.expires_at {
            return Ok(false);
        }
        Ok(
            access::designation_at(&self.catalog, &self.policy, session.user_id, now)
                .await?
                .is_ok(),
        )
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
    /// sessions end. Returns how many ended. Wrong current passwords count like
    /// failed logins (a stolen session cannot guess the password).
    pub async fn password_change(&self, s: &SignedIn, current: &str, new: &str) -> Result<u64> {
        let now = self.clock.now();
        // A key no user name can be: the attempts of this person's password changes.
        let key = format!("\u{0}password-change {}", s.person.user.id);
        let attempt = match self.throttle.begin(&key, now).await {
            Ok(attempt) => attempt,
            Err(Unchecked::Locked) => {
                return Err(Error::Denied(
                    "too many wrong current passwords; wait a minute and try again".into(),
                ));
            }
            Err(Unchecked::Busy) => {
                return Err(Error::Busy(
                    "another password change is being checked; try again".into(),
                ));
            }
        };
        let cur = current.to_string();
        let stored = s.person.user.password_hash.clone();
        let ok = current.len() <= MAX_CREDENTIAL_BYTES
            && self
                .throttle
                .check(move || verify_password(&stored, &cur))
                .await
                .unwrap_or(false);
        if !ok {
            let failures = attempt.fail(now);
            tokio::time::sleep(backoff(failures)).await;
            return Err(Error::Denied("the current password is wrong".into()));
        }
        attempt.succeed();
        let new = Password::parse(new)?;
        if new.expose() == current {
            return Err(Error::bad_input(
                "the new password must differ from the current one",
            ));
        }
        let hashed = self.hash_password(new).await?;
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
        let hashed = self.hash_password(Password::parse(new)?).await?;
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
    /// enrolment). Replacing an enrolled one also needs a code of the current one.
    /// Returns whether the code was right.
    pub async fn totp_confirm(
        &self,
        s: &SignedIn,
        secret: &[u8],
        code: &str,
        current_code: Option<&str>,
    ) -> Result<bool> {
        if secret.len() < 10 {
            return Err(Error::bad_input("secret: not a base32 secret"));
        }
        let now = self.clock.now();
        if let Some(current) = self.totp_secret_of(&s.person.user)?
            && !current_code.is_some_and(|c| self.totp_accept(s.person.user.id, &current, c, now))
        {
            return Err(Error::Denied(
                "a code of the second factor enrolled now is needed to replace it".into(),
            ));
        }
        if mimamori_crypto::totp::matching_step(secret, code, now.0.div_euclid(1_000_000)).is_none()
        {
            return Ok(false);
        }
        self.catalog
            .user_set_totp(s.person.user.id, Some(&self.seal_totp(secret)?))
            .await?;
        self.audit
            .record(&s.actor(), Entry::new("totp_enrolled", ""))
            .await?;
        Ok(true)
    }

    /// A person's second-factor secret, opened (stored sealed with the master key;
    /// one stored before sealing is read as it is until the next start seals it).
    fn totp_secret_of(&self, user: &User) -> Result<Option<Vec<u8>>> {
        let Some(stored) = &user.totp_secret else {
            return Ok(None);
        };
        match std::str::from_utf8(stored) {
            Ok(text) if mimamori_catalog::keys::is_sealed(text) => {
                let b32 = self.keys.open_secret(text)?;
                mimamori_crypto::totp::base32_decode(&b32)
                    .map(Some)
                    .ok_or_else(|| {
                        Error::Inconsistent(format!(
                            "the second factor of {} is unreadable",
                            user.username
                        ))
                    })
            }
            _ => Ok(Some(stored.clone())),
        }
    }

    fn seal_totp(&self, secret: &[u8]) -> Result<Vec<u8>> {
        Ok(self
            .keys
            .seal_secret(&mimamori_crypto::totp::base32(secret))?
            .into_bytes())
    }

    /// Whether `code` is valid now and its time step was not used before by this
    /// person (a one-time code works once).
    fn totp_accept(&self, user: UserId, secret: &[u8], code: &str, now: Timestamp) -> bool {
        let Some(step) =
            mimamori_crypto::totp::matching_step(secret, code, now.0.div_euclid(1_000_000))
        else {
            return false;
        };
        let mut used = self
            .totp_steps
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if used.get(&user).is_some_and(|last| *last >= step) {
            return false;
        }
        used.insert(user, step);
        true
    }

    /// Seals second-factor secrets stored in plain text by versions before sealing
    /// (done once at start-up). Returns how many were sealed.
    pub async fn seal_stored_totp_secrets(&self) -> Result<usize> {
        let mut n = 0;
        for u in self.catalog.users().await? {
            let plain = u.totp_secret.as_deref().is_some_and(|s| {
                !std::str::from_utf8(s).is_ok_and(mimamori_catalog::keys::is_sealed)
            });
            if plain && let Some(secret) = self.totp_secret_of(&u)? {
                self.catalog
                    .user_set_totp(u.id, Some(&self.seal_totp(&secret)?))
                    .await?;
                tracing::info!(username = %u.username, "second factor sealed with the master key");
                n += 1;
            }
        }
        Ok(n)
    }

    /// Sets a new second-factor secret for a person (the console only); returns it.
    pub async fn totp_set(&self, actor: &Actor, username: &str) -> Result<Vec<u8>> {
        let user = self.console_target(actor, username).await?;
        let secret = mimamori_crypto::totp::new_secret();
        self.catalog
            .user_set_totp(user.id, Some(&self.seal_totp(&secret)?))
            .await?;
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
        let locked = |name: &str, at: Timestamp| {
            matches!(t.try_begin(name, at).map(drop), Err(Unchecked::Locked))
        };
        for _ in 0..MAX_FAILURES {
            assert!(!locked("a", now));
            t.try_begin("a", now).unwrap().fail(now);
        }
        assert!(locked("a", now));
        assert!(!locked("b", now));
        assert!(!locked("a", now.add_micros(LOCK_MICROS)));
    }

    // Parallel guesses: attempts under way count before their check ends.
    #[test]
    fn attempts_under_way_count_against_the_limit() {
        let t = LoginThrottle::default();
        let now = Timestamp::from_secs(100);
        let under_way: Vec<_> = (0..MAX_FAILURES)
            .map(|_| t.try_begin("a", now).unwrap())
            .collect();
        assert!(
            matches!(t.try_begin("a", now).map(drop), Err(Unchecked::Busy)),
            "a sixth parallel attempt has no place, but the name is not locked"
        );
        drop(under_way);
        assert!(
            t.try_begin("a", now).is_ok(),
            "attempts that ended without failing free their place"
        );
    }

    // A login of a name whose places are all taken waits for its turn: it goes on
    // when one of them ends without failing, and is locked out when they fail.
    #[tokio::test(start_paused = true)]
    async fn a_parallel_attempt_waits_for_its_turn() {
        let t = std::sync::Arc::new(LoginThrottle::default());
        let now = Timestamp::from_secs(100);
        let mut under_way: Vec<_> = (0..MAX_FAILURES)
            .map(|_| t.try_begin("a", now).unwrap())
            .collect();
        let waiter = {
            let t = t.clone();
            tokio::spawn(async move { t.begin("a", now).await.map(|a| a.succeed()) })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "it waits while the places are taken");
        under_way.pop().unwrap().succeed();
        assert_eq!(waiter.await.unwrap(), Ok(()), "a place freed: its turn");

        let waiter = {
            let t = t.clone();
            tokio::spawn(async move { t.begin("a", now).await.map(drop) })
        };
        under_way.push(t.try_begin("a", now).unwrap());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        for a in under_way {
            a.fail(now);
        }
        assert_eq!(
            waiter.await.unwrap(),
            Err(Unchecked::Locked),
            "the ones under way failed: locked, never checked"
        );
    }

    #[test]
    fn names_shown_are_bounded_and_printable() {
        assert_eq!(shown_name("kanri"), "kanri");
        let long = "x".repeat(1 << 20);
        assert_eq!(shown_name(&long).chars().count(), 65);
        assert_eq!(shown_name("a\nb\u{7}"), "ab…");
    }

    #[test]
    fn backoff_grows_with_failures() {
        assert_eq!(backoff(1).as_millis(), 0);
        assert_eq!(backoff(2).as_millis(), 200);
        assert_eq!(backoff(4).as_millis(), 800);
        assert_eq!(backoff(9).as_millis(), 1600);
    }
}
