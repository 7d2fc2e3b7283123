//! Browser walks: a real headless Chromium, driven through chromedriver, over the real app;
//! axe-core checks every page visited. Screenshots go to target/browser-screenshots/.

#[path = "../app/helpers.rs"]
mod helpers;

mod api_tokens;
mod audit;
mod browser;

mod first_week;
mod foundation;
mod journey;
mod passkeys;
mod providers;
mod sessions;
mod tabs;
mod two_step;
mod users;
