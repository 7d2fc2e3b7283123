//! Where mail goes: an SMTP server (`SMTP_URL`), or `.eml` files in the mail folder.

use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::Config;

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(AsyncFileTransport<Tokio1Executor>),
}

impl Transport {
    /// `smtp://` uses STARTTLS when the server offers it (`?tls=required` insists on it,
    /// `?tls=none` never tries); `smtps://` is TLS from the first byte.
    pub fn from_config(config: &Config) -> anyhow::Result<Transport> {
        match &config.smtp_url {
            Some(url) => {
                let url = if url.starts_with("smtp://") && !url.contains("tls=") {
                    format!("{url}{}tls=opportunistic", if url.contains('?') { '&' } else { '?' })
                } else {
                    url.replace("?tls=none", "").replace("&tls=none", "")
                };
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
                    .map_err(|e| anyhow::anyhow!("SMTP_URL: {e}"))?
                    .timeout(Some(std::time::Duration::from_secs(20)))
                    .build();
                Ok(Transport::Smtp(transport))
            }
            None => {
                std::fs::create_dir_all(&config.mail_dir)
                    .map_err(|e| anyhow::anyhow!("MAIL_DIR {}: {e}", config.mail_dir.display()))?;
                Ok(Transport::Folder(AsyncFileTransport::new(&config.mail_dir)))
            }
        }
    }

    pub async fn send(&self, message: lettre::Message) -> Result<(), String> {
        match self {
            Transport::Smtp(smtp) => smtp.send(message).await.map(drop).map_err(|e| e.to_string()),
            Transport::Folder(folder) => folder.send(message).await.map(drop).map_err(|e| e.to_string()),
        }
    }
}
