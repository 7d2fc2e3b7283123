//! The page frame shared by every screen: organization name, the name menu, the Settings
//! tabs a user may see, the flash message and the CSRF token for the sign-out form.

use crate::auth::CurrentUser;
use crate::auth::session::Flash;
use crate::domain::Permission;

/// The tabs of the Settings page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Profile,
    Users,
    Buildings,
    Groups,
    Organization,
    Audit,
    Api,
    None,
}

pub struct TabLink {
    pub label: &'static str,
    pub href: &'static str,
    pub current: bool,
}

impl Tab {
    /// Every tab, its address, and the permission that shows it (None: everyone).
    const ALL: [(Tab, &'static str, &'static str, Option<Permission>); 7] = [
        (Tab::Profile, "My Profile", "/profile", None),
        (Tab::Users, "Users", "/users", Some(Permission::UsersView)),
        (Tab::Buildings, "Accounts & Buildings", "/buildings", None),
        (Tab::Groups, "Groups", "/groups", Some(Permission::GroupsManage)),
        (Tab::Organization, "Organization", "/organization", Some(Permission::SettingsManage)),
        (Tab::Audit, "Audit log", "/audit", Some(Permission::AuditView)),
        (Tab::Api, "API tokens", "/api-tokens", Some(Permission::ApiManage)),
    ];
}

pub struct Layout {
    pub title: String,
    pub org_name: String,
    /// None on public pages.
    pub user: Option<LayoutUser>,
    pub tabs: Vec<TabLink>,
    pub flash: Option<Flash>,
    pub csrf_token: String,
}

pub struct LayoutUser {
    pub name: String,
    pub email: String,
    pub initials: String,
    pub impersonating: bool,
    /// While impersonating: who is behind it, when it ends, and the minutes left.
    pub impersonator: String,
    pub until: String,
    pub minutes_left: i64,
    /// The group requires two-step sign-in, not yet set up: by when, in the user's time zone.
    pub two_step_due: String,
}

impl Layout {
    pub fn signed_in(user: &CurrentUser, title: String, tab: Tab) -> Layout {
        let impersonating = user.impersonator_id.is_some();
        let tabs = Tab::ALL
            .iter()
            .filter(|(_, _, _, p)| match p {
                None => true,
                Some(p) => user.can(*p) && !impersonating,
            })
            .map(|(t, label, href, _)| TabLink { label, href, current: *t == tab })
            .collect();
        let initials: String = [&user.first_name, &user.last_name]
            .iter()
            .filter_map(|n| n.chars().next())
            .flat_map(char::to_uppercase)
            .collect();
        Layout {
            title,
            org_name: user.org_name.clone(),
            user: Some(LayoutUser {
                name: user.full_name(),
                email: user.email.clone(),
                initials,
                impersonating,
                impersonator: user.impersonator_label.clone(),
                until: user
                    .impersonation_ends
                    .map(|t| chrono::TimeZone::from_utc_datetime(&user.time_zone, &t).format("%H:%M %Z").to_string())
                    .unwrap_or_default(),
                minutes_left: (user.impersonation_seconds_left.max(0) + 59) / 60,
                two_step_due: user
                    .two_step_due
                    .map(|due| crate::domain::when_in(Some(due), user.time_zone))
                    .unwrap_or_default(),
            }),
            tabs,
            flash: user.take_flash(),
            csrf_token: user.csrf_token(),
        }
    }

    pub fn public(title: impl Into<String>, org_name: String, flash: Option<Flash>, csrf_token: String) -> Layout {
        Layout { title: title.into(), org_name, user: None, tabs: Vec::new(), flash, csrf_token }
    }
}
