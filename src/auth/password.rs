//! bcrypt hashing, always on the blocking pool and at most on half the cores at once, so a burst
//! of sign-ins waits its turn instead of stalling every other page.

use std::sync::{Arc, OnceLock};

use tokio::sync::Semaphore;

use crate::error::AppError;

#[derive(Clone)]
pub struct Hasher {
    cost: u32,
    /// A hash of nothing anyone knows, checked when there is no real one, so that an unknown
    /// email takes as long as a wrong password.
    decoy: Arc<OnceLock<String>>,
    /// Hashes running at once.
    slots: Arc<Semaphore>,
}

impl Hasher {
    pub fn new(cost: u32) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Hasher { cost, decoy: Arc::new(OnceLock::new()), slots: Arc::new(Semaphore::new((cores / 2).max(1))) }
    }

    pub fn cost(&self) -> u32 {
        self.cost
    }

    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        let cost = self.cost;
        let _slot = self.slots.acquire().await.map_err(|e| AppError::Internal(e.into()))?;
        actix_web::web::block(move || bcrypt::hash(password, cost))
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing stopped: {e}")))?
            .map_err(|e| AppError::Internal(e.into()))
    }

    /// Checks `password` against `hash`, or against the decoy when there is no hash.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, AppError> {
        let this = self.clone();
        let _slot = self.slots.acquire().await.map_err(|e| AppError::Internal(e.into()))?;
        actix_web::web::block(move || {
            let real = hash.is_some();
            let hash = hash.unwrap_or_else(|| this.decoy().to_owned());
            let ok = bcrypt::verify(password, &hash).unwrap_or(false);
            real && ok
        })
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing stopped: {e}")))
    }

    /// Prepares the decoy ahead of the first sign-in (call from a blocking thread).
    pub fn warm_up(&self) {
        self.decoy();
    }

    fn decoy(&self) -> &str {
        self.decoy.get_or_init(|| bcrypt::hash(super::secret::new_token(), self.cost).unwrap_or_default())
    }
}
