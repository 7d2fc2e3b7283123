//! PATCH (RFC 7644 §3.5.2) applied to a resource as JSON: the result is then saved as a PUT
//! would save it, so one set of checks covers both. Accepts what Entra ID and Okta send:
//! capitalised ops, no path with dotted keys, `"False"` for false, and value filters in paths.

use serde_json::{Map, Value};

use super::ScimError;
use super::filter::{self, Filter};

/// One operation of a PatchOp body.
pub struct Operation {
    pub op: Op,
    pub path: Option<String>,
    pub value: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Replace,
    Remove,
}

/// Reads a PatchOp body.
pub fn operations(body: &Value) -> Result<Vec<Operation>, ScimError> {
    let ops = body
        .get("Operations")
        .or_else(|| body.get("operations"))
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::syntax("A PatchOp needs an \"Operations\" list."))?;
    if ops.len() > 1000 {
        return Err(ScimError::syntax("At most 1,000 operations in one PATCH."));
    }
    ops.iter()
        .map(|o| {
            let op = match o.get("op").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
                Some("add") => Op::Add,
                Some("replace") => Op::Replace,
                Some("remove") => Op::Remove,
                _ => return Err(ScimError::syntax("Each operation's \"op\" is add, replace or remove.")),
            };
            let path = match o.get("path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) if p.trim().is_empty() => None,
                Some(Value::String(p)) => Some(p.trim().to_owned()),
                Some(_) => return Err(ScimError::invalid_path("\"path\" is a string.")),
            };
            let value = o.get("value").cloned();
            if op != Op::Remove && value.is_none() {
                return Err(ScimError::syntax("add and replace need a \"value\"."));
            }
            if op == Op::Remove && path.is_none() {
                return Err(ScimError::no_target("remove needs a \"path\"."));
            }
            Ok(Operation { op, path, value })
        })
        .collect()
}

/// A path split: the schema it is in (None: the core), the attribute, a value filter on it, and
/// the sub-attribute.
struct Path {
    schema: Option<String>,
    attribute: String,
    filter: Option<Filter>,
    sub: Option<String>,
}

fn parse_path(path: &str, core: &str, extensions: &[&str]) -> Result<Path, ScimError> {
    let mut rest = path;
    let mut schema = None;
    let lower = path.to_ascii_lowercase();
    if lower.starts_with(&core.to_ascii_lowercase()) {
        rest = path[core.len()..].trim_start_matches(':');
    } else if let Some(ext) = extensions.iter().find(|e| lower.starts_with(&e.to_ascii_lowercase())) {
        schema = Some((*ext).to_owned());
        rest = path[ext.len()..].trim_start_matches(':');
    } else if lower.starts_with("urn:") {
        return Err(ScimError::invalid_path(&format!("\"{path}\" names no schema of this resource.")));
    }
    let (head, filter, tail) = match rest.find('[') {
        Some(open) => {
            let close =
                rest.rfind(']').ok_or_else(|| ScimError::invalid_path("A bracket in the path is not closed."))?;
            if close < open {
                return Err(ScimError::invalid_path("The path's brackets are out of order."));
            }
            let inner = filter::parse(&rest[open + 1..close]).map_err(|e| ScimError::invalid_path(&e))?;
            (&rest[..open], Some(inner), rest[close + 1..].trim_start_matches('.'))
        }
        None => match rest.split_once('.') {
            Some((head, tail)) => (head, None, tail),
            None => (rest, None, ""),
        },
    };
    if head.is_empty() && schema.is_none() {
        return Err(ScimError::invalid_path("The path names no attribute."));
    }
    if !head.chars().all(|c| c.is_ascii_alphanumeric() || c == '$' || c == '_' || c == '-') {
        return Err(ScimError::invalid_path(&format!("\"{path}\" is not an attribute path.")));
    }
    Ok(Path { schema, attribute: head.to_owned(), filter, sub: (!tail.is_empty()).then(|| tail.to_owned()) })
}

/// The key of `name` in `object`, matched without regard to case.
fn key_of(object: &Map<String, Value>, name: &str) -> Option<String> {
    object.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

fn entry<'a>(object: &'a mut Map<String, Value>, name: &str) -> &'a mut Value {
    let key = key_of(object, name).unwrap_or_else(|| name.to_owned());
    object.entry(key).or_insert(Value::Null)
}

/// Applies the operations to `resource` (an object), in order.
pub fn apply(resource: &mut Value, ops: &[Operation], core: &str, extensions: &[&str]) -> Result<(), ScimError> {
    for op in ops {
        match &op.path {
            None => {
                let Some(Value::Object(values)) = &op.value else {
                    return Err(ScimError::syntax("Without a path, the value is an object of attributes."));
                };
                for (key, value) in values {
                    let path = parse_path(key, core, extensions)?;
                    set(resource, &path, value.clone(), op.op)?;
                }
            }
            Some(p) => {
                let path = parse_path(p, core, extensions)?;
                match op.op {
                    Op::Remove => remove(resource, &path, op.value.as_ref())?,
                    _ => set(resource, &path, op.value.clone().unwrap_or(Value::Null), op.op)?,
                }
            }
        }
    }
    Ok(())
}

/// The object that holds the path's attribute: the resource, or its extension's object.
fn holder<'a>(resource: &'a mut Value, path: &Path) -> Result<&'a mut Map<String, Value>, ScimError> {
    let Value::Object(root) = resource else { return Err(ScimError::syntax("The resource is not an object.")) };
    let Some(schema) = &path.schema else { return Ok(root) };
    let ext = entry(root, schema);
    if !ext.is_object() {
        *ext = Value::Object(Map::new());
    }
    Ok(ext.as_object_mut().expect("made an object above"))
}

fn merge(target: &mut Value, value: Value) {
    match (target, value) {
        (Value::Object(t), Value::Object(v)) => {
            for (k, v) in v {
                let slot = entry(t, &k);
                if v.is_object() && slot.is_object() {
                    merge(slot, v);
                } else {
                    *slot = v;
                }
            }
        }
        (t, v) => *t = v,
    }
}

fn set(resource: &mut Value, path: &Path, value: Value, op: Op) -> Result<(), ScimError> {
    if path.attribute.is_empty() {
        // The whole extension: its attributes, as if each were named.
        let Value::Object(values) = value else {
            return Err(ScimError::invalid_value("An extension's value is an object of its attributes."));
        };
        let holder = holder(resource, path)?;
        for (k, v) in values {
            if k.eq_ignore_ascii_case("schemas") {
                continue;
            }
            let inner = Path { schema: None, attribute: k, filter: None, sub: None };
            set_in(holder, &inner, v, op)?;
        }
        return Ok(());
    }
    let holder = holder(resource, path)?;
    set_in(holder, path, value, op)
}

fn set_in(holder: &mut Map<String, Value>, path: &Path, value: Value, op: Op) -> Result<(), ScimError> {
    // `name.givenName` sent as one key of a path-less value.
    if path.filter.is_none()
        && path.sub.is_none()
        && let Some((head, tail)) = path.attribute.split_once('.')
    {
        let inner = Path { schema: None, attribute: head.to_owned(), filter: None, sub: Some(tail.to_owned()) };
        return set_in(holder, &inner, value, op);
    }
    let slot = entry(holder, &path.attribute);
    match (&path.filter, &path.sub) {
        (None, None) => match (op, &mut *slot, value) {
            (Op::Add, Value::Array(items), Value::Array(new)) => {
                for v in new {
                    if !items.contains(&v) {
                        items.push(v);
                    }
                }
            }
            (Op::Add, Value::Array(items), v) => {
                if !items.contains(&v) {
                    items.push(v);
                }
            }
            (Op::Add, slot @ Value::Object(_), v @ Value::Object(_)) => merge(slot, v),
            (_, slot, v) => *slot = v,
        },
        (None, Some(sub)) => {
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            let inner = Path { schema: None, attribute: sub.clone(), filter: None, sub: None };
            set_in(slot.as_object_mut().expect("an object"), &inner, value, op)?;
        }
        (Some(f), sub) => {
            if !slot.is_array() {
                *slot = Value::Array(Vec::new());
            }
            let items = slot.as_array_mut().expect("an array");
            let mut found = false;
            for item in items.iter_mut().filter(|i| filter::matches(f, i)) {
                found = true;
                match sub {
                    Some(sub) => {
                        if let Value::Object(o) = item {
                            *entry(o, sub) = value.clone();
                        }
                    }
                    None => merge(item, value.clone()),
                }
            }
            if !found {
                // `emails[type eq "work"].value` on a user with no work address adds one.
                let Filter::Compare(attr, filter::Op::Eq, expected) = f else {
                    return Err(ScimError::no_target("No value matches the path's filter."));
                };
                let mut item = Value::Object(Map::from_iter([(attr.clone(), expected.clone())]));
                match sub {
                    Some(sub) => {
                        *entry(item.as_object_mut().expect("an object"), sub) = value;
                    }
                    None => merge(&mut item, value),
                }
                items.push(item);
            }
        }
    }
    Ok(())
}

fn remove(resource: &mut Value, path: &Path, value: Option<&Value>) -> Result<(), ScimError> {
    let holder = holder(resource, path)?;
    if path.attribute.is_empty() {
        holder.clear();
        return Ok(());
    }
    let Some(key) = key_of(holder, &path.attribute) else { return Ok(()) };
    match (&path.filter, &path.sub) {
        (None, None) => match (holder.get_mut(&key), value) {
            // Entra ID removes members by value: `"path": "members", "value": [{"value": "7"}]`.
            (Some(Value::Array(items)), Some(Value::Array(gone))) => {
                items.retain(|i| !gone.iter().any(|g| same_value(i, g)));
            }
            _ => {
                holder.remove(&key);
            }
        },
        (None, Some(sub)) => {
            if let Some(Value::Object(o)) = holder.get_mut(&key)
                && let Some(k) = key_of(o, sub)
            {
                o.remove(&k);
            }
        }
        (Some(f), None) => {
            if let Some(Value::Array(items)) = holder.get_mut(&key) {
                items.retain(|i| !filter::matches(f, i));
            }
        }
        (Some(f), Some(sub)) => {
            if let Some(Value::Array(items)) = holder.get_mut(&key) {
                for item in items.iter_mut().filter(|i| filter::matches(f, i)) {
                    if let Value::Object(o) = item
                        && let Some(k) = key_of(o, sub)
                    {
                        o.remove(&k);
                    }
                }
            }
        }
    }
    Ok(())
}

fn same_value(item: &Value, gone: &Value) -> bool {
    match (item.get("value"), gone.get("value")) {
        (Some(a), Some(b)) => a == b,
        _ => item == gone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn patched(mut resource: Value, body: Value) -> Value {
        let ops = operations(&body).unwrap();
        apply(&mut resource, &ops, CORE, &[ENT]).unwrap();
        resource
    }

    #[test]
    fn entra_and_okta_shapes() {
        let user = json!({ "userName": "a", "active": true, "emails": [{ "value": "a@x.com", "type": "work" }] });
        let out = patched(
            user,
            json!({ "Operations": [
                { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "b@x.com" },
                { "op": "replace", "value": { "active": "False", "name.givenName": "Ann" } },
                { "op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization", "value": "Acme" },
            ]}),
        );
        assert_eq!(out["emails"][0]["value"], "b@x.com");
        assert_eq!(out["active"], "False");
        assert_eq!(out["name"]["givenName"], "Ann");
        assert_eq!(out[ENT]["organization"], "Acme");
    }

    #[test]
    fn a_filtered_add_with_no_match_adds_the_whole_value() {
        let out = patched(
            json!({ "userName": "a" }),
            json!({ "Operations": [{ "op": "add", "path": "emails[type eq \"work\"]", "value": { "value": "a@x.com" } }] }),
        );
        assert_eq!(out["emails"], json!([{ "type": "work", "value": "a@x.com" }]));
    }

    #[test]
    fn members_are_added_once_and_removed_by_filter_or_value() {
        let group = json!({ "members": [{ "value": "1" }] });
        let out = patched(
            group,
            json!({ "Operations": [
                { "op": "add", "path": "members", "value": [{ "value": "1" }, { "value": "2" }, { "value": "3" }] },
                { "op": "remove", "path": "members[value eq \"2\"]" },
                { "op": "remove", "path": "members", "value": [{ "value": "3" }] },
            ]}),
        );
        assert_eq!(out["members"], json!([{ "value": "1" }]));
    }

    #[test]
    fn bad_operations_are_refused() {
        for body in [
            json!({}),
            json!({ "Operations": [{ "op": "move", "path": "a" }] }),
            json!({ "Operations": [{ "op": "remove" }] }),
            json!({ "Operations": [{ "op": "add", "path": "a" }] }),
        ] {
            assert!(operations(&body).is_err(), "{body}");
        }
        let ops = operations(&json!({ "Operations": [{ "op": "add", "path": "urn:x:y", "value": 1 }] })).unwrap();
        assert!(apply(&mut json!({}), &ops, CORE, &[ENT]).is_err());
    }
}
