//! bcrypt hashing on its own threads, one per core, running at a lower CPU priority: a burst of
//! sign-ins uses every core pages leave idle (two cores hash about eight a second at cost 12;
//! one thread, as before, capped them near three), and yields to pages when they need the CPU.

use std::sync::{Arc, Mutex, OnceLock, mpsc};

use crate::error::AppError;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct Hasher {
    cost: u32,
    /// A hash of nothing anyone knows, checked when there is no real one, so that an unknown
    /// email takes as long as a wrong password.
    decoy: Arc<OnceLock<String>>,
    /// Work for the hashing threads; they end when the last `Hasher` clone is dropped. The line
    /// is bounded: past `QUEUED_PER_THREAD` waiting hashes a request is answered "busy" at once
    /// rather than waiting behind a flood.
    jobs: mpsc::SyncSender<Job>,
}

/// How many hashes may wait per hashing thread (at cost 12, about 4 s of work each).
const QUEUED_PER_THREAD: usize = 16;

impl Hasher {
    pub fn new(cost: u32) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = cores.max(1);
        let (jobs, queue) = mpsc::sync_channel::<Job>(threads * QUEUED_PER_THREAD);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new().name(format!("password-{n}")).spawn(move || {
                lower_priority();
                loop {
                    let job = match queue.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        Hasher { cost, decoy: Arc::new(OnceLock::new()), jobs }
    }

    /// Runs `f` on a hashing thread.
    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
        let (done, result) = tokio::sync::oneshot::channel();
        self.jobs
            .try_send(Box::new(move || {
                let _ = done.send(f());
            }))
            .map_err(|e| match e {
                mpsc::TrySendError::Full(_) => AppError::Busy,
                mpsc::TrySendError::Disconnected(_) => {
                    AppError::Internal(anyhow::anyhow!("the password hashing threads stopped"))
                }
            })?;
        result.await.map_err(|_| AppError::Internal(anyhow::anyhow!("a password hash was dropped")))
    }

    pub fn cost(&self) -> u32 {
        self.cost
    }

    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        let cost = self.cost;
        self.run(move || bcrypt::hash(password, cost)).await?.map_err(|e| AppError::Internal(e.into()))
    }

    /// Judges a new password (`Password::parse`) on a hashing thread: zxcvbn takes up to ~20 ms
    /// on a long one, too long to hold a thread that serves pages.
    pub async fn judge(
        &self,
        raw: &str,
        confirm: &str,
        personal: &[&str],
    ) -> Result<Result<crate::domain::Password, &'static str>, AppError> {
        let (raw, confirm) = (raw.to_owned(), confirm.to_owned());
        let personal: Vec<String> = personal.iter().map(|s| (*s).to_owned()).collect();
        self.run(move || {
            let personal: Vec<&str> = personal.iter().map(String::as_str).collect();
            crate::domain::Password::parse(&raw, &confirm, &personal)
        })
        .await
    }

    /// Judges a new password typed twice, putting the message beside the field it is about
    /// (`password_confirm` when the two differ, else `password`).
    pub async fn judge_fields(
        &self,
        raw: &str,
        confirm: &str,
        personal: &[&str],
        errors: &mut crate::domain::FieldErrors,
    ) -> Result<Option<crate::domain::Password>, AppError> {
        Ok(match self.judge(raw, confirm, personal).await? {
            Ok(password) => Some(password),
            Err(m) => {
                errors.add(if m == crate::domain::password::NOT_THE_SAME { "password_confirm" } else { "password" }, m);
                None
            }
        })
    }

    /// Checks `password` against `hash`, or against the decoy when there is no hash.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, AppError> {
        let decoy = self.decoy.clone();
        let cost = self.cost;
        self.run(move || {
            let real = hash.is_some();
            let hash = hash.unwrap_or_else(|| decoy_hash(&decoy, cost).to_owned());
            let ok = bcrypt::verify(password, &hash).unwrap_or(false);
            real && ok
        })
        .await
    }

    /// Prepares the decoy ahead of the first sign-in (call from a blocking thread).
    pub fn warm_up(&self) {
        self.decoy();
    }

    fn decoy(&self) -> &str {
        decoy_hash(&self.decoy, self.cost)
    }
}

fn decoy_hash(decoy: &OnceLock<String>, cost: u32) -> &str {
    decoy.get_or_init(|| bcrypt::hash(super::secret::new_token(), cost).unwrap_or_default())
}

/// Lowers the calling thread's CPU priority (nice 10), so pages are served first.
fn lower_priority() {
    // SAFETY: setpriority only reads its arguments; on Linux `who == 0` with PRIO_PROCESS means
    // the calling thread.
    #[cfg(target_os = "linux")]
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flood of password checks is answered "busy" past the bounded line, not queued without
    /// end; the checks in line still finish.
    #[tokio::test(flavor = "current_thread")]
    async fn a_flood_of_checks_past_the_line_is_answered_busy() {
        let hasher = Hasher::new(10);
        let hash = bcrypt::hash("a password", 10).unwrap();
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).max(1);
        let flood = (0..threads * QUEUED_PER_THREAD + threads + 8)
            .map(|_| hasher.verify("a password".into(), Some(hash.clone())))
            .collect::<Vec<_>>();
        let answers = futures_util::future::join_all(flood).await;
        let busy = answers.iter().filter(|a| matches!(a, Err(AppError::Busy))).count();
        let checked = answers.iter().filter(|a| matches!(a, Ok(true))).count();
        assert!(busy > 0, "nothing was refused");
        assert!(checked >= threads * QUEUED_PER_THREAD, "only {checked} checked");
    }
}
