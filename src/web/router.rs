//! Every route of the portal, in one table. The table is also a value (`ROUTES`) so tests can
//! walk every route the app registers.

use actix_web::web;

use super::{assets, health, profile, public};

/// Whether the forgot-password page exists yet (the sign-in page links to it when it does).
pub const FORGOT_PASSWORD_ROUTED: bool = false;

macro_rules! routes {
    ($($method:ident $path:literal => $handler:path),* $(,)?) => {
        /// (method, path pattern) of every route.
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        pub fn configure(cfg: &mut web::ServiceConfig) {
            $(cfg.route($path, web::$method().to($handler));)*
        }
    };
}

routes! {
    get "/healthz" => health::healthz,
    get "/readyz" => health::readyz,
    get "/static/app.css" => assets::css,
    get "/static/app.js" => assets::js,
    get "/" => profile::settings,
    get "/settings" => profile::settings,

    get "/sign-in" => public::sign_in_page,
    post "/sign-in" => public::sign_in,
    post "/sign-out" => public::sign_out,
    get "/setup/{token}" => public::setup_page,
    post "/setup/{token}" => public::setup,

    get "/profile" => profile::show,
    get "/profile/password" => profile::password_page,
    post "/profile/password" => profile::change_password,
}
