//! The user list: search, filters, sort and keyset paging; the whole state lives in the URL.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::Require;
use crate::auth::current_user::ViewUsers;
use crate::db::directory::{self, ListQuery, Sort};
use crate::db::groups;
use crate::domain::{Permission, UserStatus};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::layout::{Layout, Tab};
use crate::web::{render, urlencode};

pub const PAGE_SIZES: [i64; 4] = [25, 50, 100, 200];

/// The list counts the users a view holds up to this many; past it, it says "more than".
pub const COUNTED_AT_MOST: i64 = 1_000;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListParams {
    q: String,
    group: String,
    status: String,
    show_disabled: String,
    activity: String,
    sort: String,
    dir: String,
    per_page: String,
    after: String,
    before: String,
    /// Where the page begins in the list (1 for the first row), carried by the paging links.
    start: String,
    /// Users still ticked after a bulk action was refused: ids separated by commas.
    selected: String,
}

/// How a sort is named in the list's links (`sort=…`).
fn sort_key(sort: Sort) -> &'static str {
    match sort {
        Sort::Name => "name",
        Sort::Email => "email",
        Sort::Company => "company",
        Sort::Group => "group",
        Sort::Status => "status",
        Sort::Buildings => "buildings",
        Sort::LastSignIn => "last_sign_in",
    }
}

/// The view's state, normalized; renders back into query strings.
#[derive(Debug, Clone)]
struct View {
    q: String,
    group_id: Option<i64>,
    status: Option<UserStatus>,
    show_disabled: bool,
    activity: Option<crate::domain::Activity>,
    sort: Sort,
    descending: bool,
    per_page: i64,
}

impl View {
    fn from(p: &ListParams) -> View {
        let per_page = p.per_page.parse().ok().filter(|n| PAGE_SIZES.contains(n)).unwrap_or(50);
        View {
            q: crate::web::search_text(&p.q),
            group_id: p.group.parse().ok(),
            status: UserStatus::parse(&p.status),
            show_disabled: p.show_disabled == "on" || p.show_disabled == "1",
            activity: crate::domain::Activity::parse(&p.activity),
            sort: Sort::ALL.into_iter().find(|s| sort_key(*s) == p.sort).unwrap_or(Sort::Name),
            descending: p.dir == "desc",
            per_page,
        }
    }

    fn href(&self, sort: Sort, descending: bool, cursor: Option<(&str, i64)>) -> String {
        self.href_from(sort, descending, cursor, None)
    }

    /// `href`, for a page that begins at row `start`.
    fn href_from(&self, sort: Sort, descending: bool, cursor: Option<(&str, i64)>, start: Option<i64>) -> String {
        let mut parts: Vec<String> = Vec::new();
        if !self.q.is_empty() {
            parts.push(format!("q={}", urlencode(&self.q)));
        }
        if let Some(g) = self.group_id {
            parts.push(format!("group={g}"));
        }
        if let Some(s) = self.status {
            parts.push(format!("status={}", s.as_str()));
        }
        if self.show_disabled {
            parts.push("show_disabled=1".into());
        }
        if let Some(a) = self.activity {
            parts.push(format!("activity={}", a.key()));
        }
        if sort != Sort::Name {
            parts.push(format!("sort={}", sort_key(sort)));
        }
        if descending {
            parts.push("dir=desc".into());
        }
        if self.per_page != 50 {
            parts.push(format!("per_page={}", self.per_page));
        }
        if let Some((name, cursor)) = cursor {
            parts.push(format!("{name}={cursor}"));
        }
        if let Some(start) = start.filter(|_| cursor.is_some()) {
            parts.push(format!("start={start}"));
        }
        if parts.is_empty() { "/users".into() } else { format!("/users?{}", parts.join("&")) }
    }
}

struct Row {
    id: i64,
    name: String,
    email: String,
    company: String,
    group: String,
    status: &'static str,
    status_class: &'static str,
    is_owner: bool,
    buildings: String,
    last_sign_in: String,
    ticked: bool,
}

struct Column {
    label: &'static str,
    href: String,
    aria_sort: &'static str,
    /// ▲ or ▼ on the sorted column.
    arrow: &'static str,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "users/list.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<Row>,
    columns: Vec<Column>,
    q: String,
    groups: Vec<Choice>,
    statuses: Vec<Choice>,
    activities: Vec<Choice>,
    page_sizes: Vec<Choice>,
    show_disabled: bool,
    sort: &'static str,
    dir: &'static str,
    next_href: Option<String>,
    previous_href: Option<String>,
    first_href: Option<String>,
    /// "2,838 users", "1 user", "More than 10,000 users".
    total: String,
    /// "1–50", when the page knows where it begins.
    position: Option<String>,
    /// When nothing is listed: whether disabled or deleted users would match.
    hidden_match: Option<String>,
    filtered: bool,
    can_manage: bool,
    can_invite: bool,
    can_export: bool,
    export_results_href: String,
    return_to: String,
    /// This page with every row on it ticked: select-all without the script.
    select_all_href: String,
}

pub fn status_class(status: &str) -> &'static str {
    match status {
        "active" => "ok",
        "invited" => "warn",
        "disabled" => "off",
        _ => "danger",
    }
}

/// A count with thousands separated: 2,838.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// "1 user", "2,838 users".
pub fn users_count(n: i64) -> String {
    format!("{} user{}", thousands(n), if n == 1 { "" } else { "s" })
}

/// The list query a view's URL describes (the export of "these results" uses it too).
pub fn list_query(params: &ListParams) -> ListQuery {
    let view = View::from(params);
    ListQuery {
        search: view.q.clone(),
        group_id: view.group_id,
        status: view.status,
        show_disabled: view.show_disabled,
        activity: view.activity,
        sort: view.sort,
        descending: view.descending,
        per_page: view.per_page,
        after: None,
        before: None,
    }
}

pub async fn list(
    state: web::Data<AppState>,
    user: Require<ViewUsers>,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    let view = View::from(&params);
    let query =
        ListQuery { after: params.after.parse().ok(), before: params.before.parse().ok(), ..list_query(&params) };
    let can_manage = user.can(Permission::UsersManage);
    let zone = user.time_zone;
    let (page, all_groups, total, hidden) = state
        .db
        .run(move |conn| {
            let all_groups = groups::list(conn)?;
            let page = directory::list(conn, &query)?;
            let total = directory::count(conn, &query, COUNTED_AT_MOST + 1)?;
            // Nobody listed: would any of the disabled and deleted match?
            let hidden = match total == 0 && query.status.is_none() && !query.show_disabled {
                true => {
                    directory::count(conn, &ListQuery { show_disabled: true, ..query.clone() }, COUNTED_AT_MOST + 1)?
                }
                false => 0,
            };
            Ok((page, all_groups, total, hidden))
        })
        .await?;
    let start = params.start.parse::<i64>().ok().filter(|s| (1..=i64::MAX / 4).contains(s));
    let start = if params.after.is_empty() && params.before.is_empty() { Some(1) } else { start };
    let ticked: Vec<i64> = params.selected.split(',').filter_map(|id| id.trim().parse().ok()).take(1000).collect();

    let columns = Sort::ALL
        .into_iter()
        .map(|sort| {
            let current = sort == view.sort;
            Column {
                label: match sort {
                    Sort::Name => "Name",
                    Sort::Email => "Email",
                    Sort::Company => "Company",
                    Sort::Group => "Group",
                    Sort::Status => "Status",
                    Sort::Buildings => "Buildings",
                    Sort::LastSignIn => "Last sign-in",
                },
                href: view.href(sort, current && !view.descending, None),
                aria_sort: match (current, view.descending) {
                    (false, _) => "none",
                    (true, false) => "ascending",
                    (true, true) => "descending",
                },
                arrow: match (current, view.descending) {
                    (false, _) => "",
                    (true, false) => "▲",
                    (true, true) => "▼",
                },
            }
        })
        .collect();
    let rows = page
        .rows
        .into_iter()
        .map(|r| Row {
            ticked: ticked.contains(&r.id),
            id: r.id,
            name: format!("{} {}", r.first_name, r.last_name),
            status: UserStatus::parse(&r.status).map_or("", UserStatus::label),
            status_class: status_class(&r.status),
            email: r.email,
            company: r.company,
            group: r.group_name,
            is_owner: r.is_owner,
            buildings: if r.buildings == directory::REACHES_ALL { "All".into() } else { r.buildings.to_string() },
            last_sign_in: super::when(r.last_sign_in, zone),
        })
        .collect::<Vec<Row>>();
    let shown = rows.len() as i64;
    // This very page (its cursor and position too): where a bulk action returns.
    let cursor = match (params.after.parse().ok(), params.before.parse().ok()) {
        (Some(after), _) => Some(("after", after)),
        (None, Some(before)) => Some(("before", before)),
        _ => None,
    };
    let here = view.href_from(view.sort, view.descending, cursor, start);
    let select_all_href = {
        let ids = rows.iter().map(|r| r.id.to_string()).collect::<Vec<_>>().join(",");
        format!("{here}{}selected={ids}", if here.contains('?') { '&' } else { '?' })
    };
    let list_page = ListPage {
        layout: user.layout("Users", Tab::Users),
        rows,
        columns,
        groups: all_groups
            .into_iter()
            .map(|g| Choice { selected: Some(g.id) == view.group_id, value: g.id.to_string(), label: g.name })
            .collect(),
        statuses: UserStatus::ALL
            .into_iter()
            .map(|s| Choice { selected: Some(s) == view.status, value: s.as_str().into(), label: s.label().into() })
            .collect(),
        activities: crate::domain::Activity::ALL
            .into_iter()
            .map(|a| Choice { selected: Some(a) == view.activity, value: a.key().into(), label: a.label().into() })
            .collect(),
        page_sizes: PAGE_SIZES
            .into_iter()
            .map(|n| Choice { selected: n == view.per_page, value: n.to_string(), label: n.to_string() })
            .collect(),
        show_disabled: view.show_disabled,
        sort: sort_key(view.sort),
        dir: if view.descending { "desc" } else { "asc" },
        next_href: page
            .next
            .map(|id| view.href_from(view.sort, view.descending, Some(("after", id)), start.map(|s| s + shown))),
        previous_href: page.previous.map(|id| {
            let start = start.map(|s| s - view.per_page).filter(|s| *s >= 1);
            view.href_from(view.sort, view.descending, Some(("before", id)), start)
        }),
        first_href: page.previous.map(|_| view.href(view.sort, view.descending, None)),
        total: match total > COUNTED_AT_MOST {
            true => format!("More than {}", users_count(COUNTED_AT_MOST)),
            false => users_count(total),
        },
        position: start.filter(|_| shown > 0).map(|s| format!("{}–{}", thousands(s), thousands(s + shown - 1))),
        hidden_match: (hidden > 0).then(|| {
            let shown_too = View { show_disabled: true, ..view.clone() };
            shown_too.href(view.sort, view.descending, None)
        }),
        filtered: !view.q.is_empty() || view.group_id.is_some() || view.status.is_some(),
        can_manage,
        can_invite: user.can(Permission::InvitesSend),
        can_export: user.can(Permission::UsersExport),
        return_to: here.clone(),
        select_all_href,
        export_results_href: {
            let href = view.href(view.sort, view.descending, None);
            match href.split_once('?') {
                Some((_, q)) => format!("/users/export.csv?results=1&{q}"),
                None => "/users/export.csv?results=1".into(),
            }
        },
        q: view.q,
    };
    render(StatusCode::OK, &list_page)
}
