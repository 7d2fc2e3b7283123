//! SCIM filters (RFC 7644 §3.4.2.2): parsed into a tree, then either compiled into one SQL
//! condition over the users table (its values bound, never spliced in) or tested against one
//! JSON value (the `[…]` of a PATCH path such as `emails[type eq "work"].value`).

use serde_json::Value;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn parse(word: &str) -> Option<Op> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "co" => Op::Co,
            "sw" => Op::Sw,
            "ew" => Op::Ew,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare(String, Op, Value),
    Present(String),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `emails[type eq "work"]`: some value of a multi-valued attribute matches.
    Each(String, Box<Filter>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    Word(String),
    Text(String),
}

fn tokens(input: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {}
            '(' => out.push(Token::Open),
            ')' => out.push(Token::Close),
            '[' => out.push(Token::OpenBracket),
            ']' => out.push(Token::CloseBracket),
            '"' => {
                // A JSON string: find its end (a quote not escaped), then let serde read it.
                let mut escaped = false;
                let mut end = None;
                for (j, d) in chars.by_ref() {
                    match d {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => {
                            end = Some(j);
                            break;
                        }
                        _ => {}
                    }
                }
                let end = end.ok_or("A quoted value is not closed.")?;
                let text: String =
                    serde_json::from_str(&input[i..=end]).map_err(|_| "A quoted value is not a valid string.")?;
                // No value the portal keeps holds a control character (and PostgreSQL takes no NUL).
                if text.chars().any(char::is_control) {
                    return Err("A quoted value holds a control character.".into());
                }
                out.push(Token::Text(text));
            }
            _ => {
                let mut end = i + c.len_utf8();
                while let Some(&(j, d)) = chars.peek() {
                    if matches!(d, ' ' | '\t' | '\n' | '\r' | '(' | ')' | '[' | ']' | '"') {
                        break;
                    }
                    end = j + d.len_utf8();
                    chars.next();
                }
                out.push(Token::Word(input[i..end].to_owned()));
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self, depth: usize) -> Result<Filter, String> {
        let mut left = self.and(depth)?;
        while self.keyword("or") {
            self.at += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and(depth)?));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Filter, String> {
        let mut left = self.unary(depth)?;
        while self.keyword("and") {
            self.at += 1;
            left = Filter::And(Box::new(left), Box::new(self.unary(depth)?));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Filter, String> {
        if depth > 32 {
            return Err("The filter is nested too deeply.".into());
        }
        if self.keyword("not") {
            self.at += 1;
            if self.next() != Some(Token::Open) {
                return Err("\"not\" is followed by a filter in parentheses.".into());
            }
            let inner = self.or(depth + 1)?;
            if self.next() != Some(Token::Close) {
                return Err("A parenthesis is not closed.".into());
            }
            return Ok(Filter::Not(Box::new(inner)));
        }
        match self.next() {
            Some(Token::Open) => {
                let inner = self.or(depth + 1)?;
                if self.next() != Some(Token::Close) {
                    return Err("A parenthesis is not closed.".into());
                }
                Ok(inner)
            }
            Some(Token::Word(path)) => {
                if self.peek() == Some(&Token::OpenBracket) {
                    self.at += 1;
                    let inner = self.or(depth + 1)?;
                    if self.next() != Some(Token::CloseBracket) {
                        return Err("A bracket is not closed.".into());
                    }
                    return Ok(Filter::Each(path, Box::new(inner)));
                }
                let Some(Token::Word(op)) = self.next() else {
                    return Err(format!("\"{path}\" is followed by no operator."));
                };
                if op.eq_ignore_ascii_case("pr") {
                    return Ok(Filter::Present(path));
                }
                let op = Op::parse(&op).ok_or_else(|| format!("\"{op}\" is not an operator."))?;
                let value = match self.next() {
                    Some(Token::Text(s)) => Value::String(s),
                    Some(Token::Word(w)) => match w.to_ascii_lowercase().as_str() {
                        "true" => Value::Bool(true),
                        "false" => Value::Bool(false),
                        "null" => Value::Null,
                        _ => serde_json::from_str::<serde_json::Number>(&w)
                            .map(Value::Number)
                            .map_err(|_| format!("\"{w}\" is not a value: quote a string."))?,
                    },
                    _ => return Err(format!("\"{path}\" is compared with nothing.")),
                };
                Ok(Filter::Compare(path, op, value))
            }
            _ => Err("A filter was expected.".into()),
        }
    }
}

/// Parses a filter; the error says what is wrong, for `scimType: invalidFilter`.
pub fn parse(input: &str) -> Result<Filter, String> {
    if input.len() > 4096 {
        return Err("The filter is longer than 4,096 bytes.".into());
    }
    let mut parser = Parser { tokens: tokens(input)?, at: 0 };
    let filter = parser.or(0)?;
    if parser.at != parser.tokens.len() {
        return Err("The filter has more after its end.".into());
    }
    Ok(filter)
}

impl Filter {
    /// Whether the filter names `attribute` (its first part, in any case) anywhere.
    pub fn names(&self, attribute: &str) -> bool {
        let head = |path: &str| path.split(['.', '[']).next().is_some_and(|h| h.eq_ignore_ascii_case(attribute));
        match self {
            Filter::Compare(path, ..) | Filter::Present(path) => head(path),
            Filter::Each(path, _) => head(path),
            Filter::And(a, b) | Filter::Or(a, b) => a.names(attribute) || b.names(attribute),
            Filter::Not(a) => a.names(attribute),
        }
    }
}

/// Whether one JSON value (an element of a multi-valued attribute) matches, its attribute names
/// compared without regard to case, strings too.
pub fn matches(filter: &Filter, value: &Value) -> bool {
    match filter {
        Filter::And(a, b) => matches(a, value) && matches(b, value),
        Filter::Or(a, b) => matches(a, value) || matches(b, value),
        Filter::Not(a) => !matches(a, value),
        Filter::Present(path) => field(value, path).is_some_and(|v| !v.is_null() && v != &Value::String(String::new())),
        Filter::Each(path, inner) => match field(value, path) {
            Some(Value::Array(items)) => items.iter().any(|i| matches(inner, i)),
            Some(v) => matches(inner, v),
            None => false,
        },
        Filter::Compare(path, op, expected) => {
            let actual = field(value, path).unwrap_or(&Value::Null);
            compare(actual, *op, expected)
        }
    }
}

fn field<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let mut here = value;
    for part in path.split('.') {
        let Value::Object(fields) = here else { return None };
        here = fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(part)).map(|(_, v)| v)?;
    }
    Some(here)
}

fn compare(actual: &Value, op: Op, expected: &Value) -> bool {
    use std::cmp::Ordering;
    let order = match (actual, expected) {
        (Value::String(a), Value::String(b)) => {
            let (a, b) = (a.to_lowercase(), b.to_lowercase());
            match op {
                Op::Co => return a.contains(&b),
                Op::Sw => return a.starts_with(&b),
                Op::Ew => return a.ends_with(&b),
                _ => Some(a.cmp(&b)),
            }
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64().zip(b.as_f64()).and_then(|(a, b)| a.partial_cmp(&b)),
        (a, b) if a == b => Some(Ordering::Equal),
        _ => None,
    };
    match (op, order) {
        (Op::Eq, o) => o == Some(Ordering::Equal),
        (Op::Ne, o) => o != Some(Ordering::Equal),
        (Op::Gt, Some(o)) => o == Ordering::Greater,
        (Op::Ge, Some(o)) => o != Ordering::Less,
        (Op::Lt, Some(o)) => o == Ordering::Less,
        (Op::Le, Some(o)) => o != Ordering::Greater,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let f = parse(r#"userName eq "a" or name.givenName sw "B" and not (active eq false)"#).unwrap();
        let Filter::Or(_, right) = f else { panic!("{f:?}") };
        assert!(matches!(*right, Filter::And(_, _)));
    }

    #[test]
    fn value_paths_strings_and_escapes() {
        let f = parse(r#"emails[type eq "work" and value co "@Example.com"]"#).unwrap();
        let user = serde_json::json!({ "emails": [{ "type": "work", "value": "ann@example.com" }] });
        assert!(matches(&f, &user));
        let f = parse(r#"userName eq "quote\" and ) [""#).unwrap();
        assert_eq!(f, Filter::Compare("userName".into(), Op::Eq, Value::String("quote\" and ) [".into())));
    }

    #[test]
    fn bad_filters_say_why() {
        for bad in [
            "",
            "userName",
            "userName eq",
            "userName xx \"a\"",
            "(userName pr",
            "userName eq \"a",
            "a pr b",
            "userName eq \"a\\u0000b\"",
            "a eq \"\\t\"",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let deep = format!("{}userName pr{}", "(".repeat(100), ")".repeat(100));
        assert!(parse(&deep).is_err());
    }
}
