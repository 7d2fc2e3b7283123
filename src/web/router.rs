//! Every route of the portal, in one table. The table is also a value (`ROUTES`) so tests can
//! walk every route the app registers.

use actix_web::web;

use super::{
    accounts, api_tokens, assets, audit, buildings, groups, health, invites, organization, passkeys, profile,
    providers, public, sessions, two_step, users,
};

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
    get "/metrics" => crate::metrics::scrape,
    get "/static/app.css" => assets::css,
    get "/static/app.js" => assets::js,
    get "/" => profile::settings,
    get "/settings" => profile::settings,

    get "/sign-in" => public::sign_in::sign_in_page,
    post "/sign-in" => public::sign_in::sign_in,
    get "/sign-in/code" => public::two_step::page,
    post "/sign-in/code" => public::two_step::submit,
    post "/sign-in/passkey/start" => passkeys::begin_sign_in,
    post "/sign-in/oidc/{id}" => public::provider::start,
    get "/sign-in/oidc/{id}/callback" => public::provider::callback,
    post "/sign-in/passkey" => passkeys::finish_sign_in,
    post "/sign-out" => public::sign_in::sign_out,
    get "/setup/{token}" => public::sign_in::setup_page,
    post "/setup/{token}" => public::sign_in::setup,
    get "/invite/{token}" => public::invitation::page,
    post "/invite/{token}" => public::invitation::accept,
    get "/forgot-password" => public::account::forgot_page,
    post "/forgot-password" => public::account::forgot,
    get "/reset-password/{token}" => public::account::reset_page,
    post "/reset-password/{token}" => public::account::reset,
    get "/signup" => public::account::signup_page,
    post "/signup" => public::account::signup,
    get "/verify-email/{token}" => public::account::verify_email_page,
    post "/verify-email/{token}" => public::account::verify_email,
    get "/confirm-email/{token}" => public::account::confirm_email_change_page,
    post "/confirm-email/{token}" => public::account::confirm_email_change,

    get "/profile" => profile::show,
    post "/profile" => profile::update,
    get "/profile/edit" => profile::edit,
    get "/profile/password" => profile::password_page,
    post "/profile/password" => profile::change_password,
    get "/profile/two-step" => two_step::show,
    post "/profile/two-step/on" => two_step::turn_on,
    post "/profile/two-step/codes" => two_step::renew_codes,
    post "/profile/two-step/off" => two_step::turn_off,
    post "/profile/passkeys/new" => passkeys::begin_adding,
    post "/profile/passkeys" => passkeys::finish_adding,
    post "/profile/passkeys/{id}/remove" => passkeys::remove,
    post "/profile/sessions/others/end" => sessions::end_my_others,
    post "/profile/sessions/{id}/end" => sessions::end_mine,
    get "/profile/email" => profile::email_page,
    post "/profile/email" => profile::request_email_change,

    // Users tab
    get "/users" => users::list::list,
    get "/users/export.csv" => users::export::export,
    get "/users/bulk" => users::bulk::confirm_page,
    post "/users/bulk" => users::bulk::apply,
    get "/users/import" => users::import::page,
    post "/users/import" => users::import::preview,
    post "/users/import/confirm" => users::import::confirm,
    get "/users/new" => users::new::new,
    post "/users/new" => users::new::create,
    get "/users/{id}" => users::show::show,
    post "/users/{id}" => users::show::update,
    get "/users/{id}/edit" => users::show::edit,
    post "/users/{id}/access" => users::show::update_access,
    post "/users/{id}/ends" => users::show::set_end,
    post "/users/{id}/disable" => users::lifecycle::change_status,
    post "/users/{id}/enable" => users::lifecycle::change_status,
    get "/users/{id}/delete" => users::lifecycle::confirm_delete,
    post "/users/{id}/delete" => users::lifecycle::change_status,
    post "/users/{id}/restore" => users::lifecycle::change_status,
    post "/users/{id}/resend-invite" => users::lifecycle::resend_invite,
    post "/users/{id}/send-password-reset" => users::lifecycle::send_reset,
    post "/users/{id}/two-step/reset" => users::lifecycle::reset_two_step,
    post "/users/{id}/sessions/end" => sessions::end_all,
    get "/users/{id}/impersonate" => users::impersonate::start_page,
    post "/users/{id}/impersonate" => users::impersonate::start,
    post "/impersonation/stop" => users::impersonate::stop,
    get "/invites" => invites::list,
    post "/invites/{id}/resend" => invites::resend,
    post "/invites/{id}/revoke" => invites::revoke,

    // Accounts & Buildings tab
    get "/buildings" => buildings::list,
    get "/buildings/new" => buildings::new,
    post "/buildings/new" => buildings::create,
    get "/buildings/{id}" => buildings::show,
    post "/buildings/{id}" => buildings::update,
    get "/buildings/{id}/edit" => buildings::edit,
    get "/buildings/{id}/delete" => buildings::confirm_delete,
    post "/buildings/{id}/delete" => buildings::delete,
    post "/buildings/{id}/access" => buildings::access,
    get "/accounts/new" => accounts::new_account,
    post "/accounts/new" => accounts::create_account,
    get "/accounts/{id}" => accounts::edit_account,
    post "/accounts/{id}" => accounts::update_account,
    get "/accounts/{id}/delete" => accounts::confirm_delete_account,
    post "/accounts/{id}/delete" => accounts::delete_account,

    // Groups tab
    get "/groups" => groups::list,
    get "/groups/new" => groups::new,
    post "/groups/new" => groups::create,
    get "/groups/{id}" => groups::show,
    post "/groups/{id}" => groups::update,
    post "/groups/{id}/two-step" => groups::require_two_step,
    post "/groups/{id}/sign-in" => groups::require_provider,
    post "/groups/{id}/two-step/remind" => groups::remind_two_step,
    get "/groups/{id}/delete" => groups::confirm_delete,
    post "/groups/{id}/delete" => groups::delete,

    // Organization tab
    get "/organization" => organization::show,
    post "/organization" => organization::update,
    post "/organization/test-email" => organization::test_email,
    post "/organization/get-started/dismiss" => organization::dismiss_get_started,
    get "/organization/ownership" => organization::ownership,
    post "/organization/ownership" => organization::hand_over,
    get "/organization/sign-in" => providers::list,
    post "/organization/sign-in" => providers::create,
    get "/organization/sign-in/{id}" => providers::edit,
    post "/organization/sign-in/{id}" => providers::update,
    post "/organization/sign-in/{id}/delete" => providers::delete,

    // API tokens tab
    get "/api-tokens" => api_tokens::list,
    post "/api-tokens" => api_tokens::create,
    post "/api-tokens/{id}/revoke" => api_tokens::revoke,

    // SCIM 2.0, for other software with an API token (JSON, no session)
    get "/scim/v2/ServiceProviderConfig" => crate::scim::schemas::service_provider_config,
    get "/scim/v2/ResourceTypes" => crate::scim::schemas::resource_types_list,
    get "/scim/v2/ResourceTypes/{id}" => crate::scim::schemas::resource_type,
    get "/scim/v2/Schemas" => crate::scim::schemas::schemas_list,
    get "/scim/v2/Schemas/{id}" => crate::scim::schemas::schema,
    get "/scim/v2/Users" => crate::scim::users::list,
    post "/scim/v2/Users" => crate::scim::users::create_one,
    post "/scim/v2/Users/.search" => crate::scim::users::search_post,
    get "/scim/v2/Users/{id}" => crate::scim::users::get_one,
    put "/scim/v2/Users/{id}" => crate::scim::users::replace_one,
    patch "/scim/v2/Users/{id}" => crate::scim::users::patch_one,
    delete "/scim/v2/Users/{id}" => crate::scim::users::delete_one,
    get "/scim/v2/Groups" => crate::scim::groups::list,
    post "/scim/v2/Groups" => crate::scim::groups::create_one,
    get "/scim/v2/Groups/{id}" => crate::scim::groups::get_one,
    put "/scim/v2/Groups/{id}" => crate::scim::groups::replace_one,
    patch "/scim/v2/Groups/{id}" => crate::scim::groups::patch_one,
    delete "/scim/v2/Groups/{id}" => crate::scim::groups::delete_one,
    route "/scim/v2/{tail:.*}" => crate::scim::unknown,

    // Audit log tab
    get "/audit" => audit::list,
    get "/audit/export.csv" => audit::export,
    get "/audit/{id}" => audit::show,
}
