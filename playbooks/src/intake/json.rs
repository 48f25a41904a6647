//! Typed access to JSON fields that remembers where each value came from.
//!
//! Every accessor returns either the value or an [`IntakeError`] that names the field by its
//! path from the root of the decoded document (`detail.resource.accessKeyDetails.accessKeyId`,
//! `detail.findings[1].Resources[0].Id`) and the kind of document it was read from ("GuardDuty
//! finding"), so that a message sent to the dead-letter queue says exactly what was wrong.
//!
//! Conventions: an optional field that is `null` counts as absent (AWS writes `null` for
//! unset values in many places); a required field that is `null` is a wrong type, not a
//! missing field, because "is null" is what an operator needs to read.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::IntakeError;
use crate::ids::quoted;

/// What a document is, as named in error messages ("GuardDuty finding", "SNS notification").
pub(crate) type Context = &'static str;

/// A string read from the input, with its path and context for later checks and messages.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field {
    pub value: String,
    pub path: String,
    pub ctx: Context,
}

impl Field {
    /// A value computed from this field (an id taken out of an ARN): errors about it still
    /// point at the field it came from.
    pub fn derived(&self, value: impl Into<String>) -> Field {
        Field {
            value: value.into(),
            path: self.path.clone(),
            ctx: self.ctx,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }
}

/// A JSON object at a known path.
#[derive(Debug, Clone)]
pub(crate) struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
    ctx: Context,
}

/// A JSON array at a known path.
#[derive(Debug, Clone)]
pub(crate) struct Arr<'a> {
    items: &'a [Value],
    path: String,
    ctx: Context,
}

/// How a JSON value's type is named in messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl<'a> Obj<'a> {
    /// The root object of a document; `what` names the document when it is not an object.
    pub fn root(value: &'a Value, what: &'static str, ctx: Context) -> Result<Self, IntakeError> {
        match value {
            Value::Object(map) => Ok(Obj {
                map,
                path: String::new(),
                ctx,
            }),
            other => Err(IntakeError::NotAnObject {
                what,
                found: type_name(other),
            }),
        }
    }

    /// The same object, described as another kind of document in messages.
    pub fn with_ctx(&self, ctx: Context) -> Obj<'a> {
        Obj {
            map: self.map,
            path: self.path.clone(),
            ctx,
        }
    }

    /// The path of `key` in this object.
    pub fn path_of(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// The object as a JSON value (for `Finding::detail`).
    pub fn to_value(&self) -> Value {
        Value::Object(self.map.clone())
    }

    /// Whether the key is there at all, even as `null`.
    pub fn has_key(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    fn present(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn missing(&self, key: &str) -> IntakeError {
        IntakeError::MissingField {
            path: self.path_of(key),
            context: self.ctx,
        }
    }

    fn wrong_type(&self, key: &str, expected: &'static str, found: &Value) -> IntakeError {
        IntakeError::WrongType {
            path: self.path_of(key),
            context: self.ctx,
            expected,
            found: type_name(found),
        }
    }

    /// A required value of any type (`null` is reported as missing only when the key is absent).
    fn required(&self, key: &str) -> Result<&'a Value, IntakeError> {
        self.map.get(key).ok_or_else(|| self.missing(key))
    }

    pub fn str(&self, key: &str) -> Result<Field, IntakeError> {
        match self.required(key)? {
            Value::String(s) => Ok(self.field(key, s)),
            other => Err(self.wrong_type(key, "a string", other)),
        }
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<Field>, IntakeError> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(self.field(key, s))),
            Some(other) => Err(self.wrong_type(key, "a string", other)),
        }
    }

    fn field(&self, key: &str, value: &str) -> Field {
        Field {
            value: value.to_owned(),
            path: self.path_of(key),
            ctx: self.ctx,
        }
    }

    pub fn obj(&self, key: &str) -> Result<Obj<'a>, IntakeError> {
        match self.required(key)? {
            Value::Object(map) => Ok(self.child(key, map)),
            other => Err(self.wrong_type(key, "an object", other)),
        }
    }

    pub fn opt_obj(&self, key: &str) -> Result<Option<Obj<'a>>, IntakeError> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(self.child(key, map))),
            Some(other) => Err(self.wrong_type(key, "an object", other)),
        }
    }

    fn child(&self, key: &str, map: &'a Map<String, Value>) -> Obj<'a> {
        Obj {
            map,
            path: self.path_of(key),
            ctx: self.ctx,
        }
    }

    pub fn arr(&self, key: &str) -> Result<Arr<'a>, IntakeError> {
        match self.required(key)? {
            Value::Array(items) => Ok(Arr {
                items,
                path: self.path_of(key),
                ctx: self.ctx,
            }),
            other => Err(self.wrong_type(key, "an array", other)),
        }
    }

    pub fn opt_arr(&self, key: &str) -> Result<Option<Arr<'a>>, IntakeError> {
        if self.present(key).is_none() {
            return Ok(None);
        }
        self.arr(key).map(Some)
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, IntakeError> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong_type(key, "a boolean", other)),
        }
    }

    /// True only for `true` (or the string `"true"`); any other value, or none, is false.
    /// For flags inside free-form bags such as GuardDuty's `additionalInfo`, whose shape AWS
    /// does not fix, so that an odd value there cannot make a whole event undecodable.
    pub fn flag(&self, key: &str) -> bool {
        match self.present(key) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
            _ => false,
        }
    }

    pub fn num(&self, key: &str) -> Result<f64, IntakeError> {
        match self.required(key)? {
            // Always Some without serde_json's arbitrary_precision; NaN otherwise fails every
            // range check a caller makes.
            Value::Number(n) => Ok(n.as_f64().unwrap_or(f64::NAN)),
            other => Err(self.wrong_type(key, "a number", other)),
        }
    }

    pub fn opt_num(&self, key: &str) -> Result<Option<f64>, IntakeError> {
        if self.present(key).is_none() {
            return Ok(None);
        }
        self.num(key).map(Some)
    }

    /// A required RFC 3339 timestamp.
    pub fn time(&self, key: &str) -> Result<DateTime<Utc>, IntakeError> {
        let f = self.str(key)?;
        parse_time(&f)
    }

    pub fn opt_time(&self, key: &str) -> Result<Option<DateTime<Utc>>, IntakeError> {
        match self.opt_str(key)? {
            None => Ok(None),
            Some(f) => parse_time(&f).map(Some),
        }
    }

    /// An optional object of string values (resource tags as Config and ASFF write them).
    pub fn opt_string_map(&self, key: &str) -> Result<BTreeMap<String, String>, IntakeError> {
        let Some(obj) = self.opt_obj(key)? else {
            return Ok(BTreeMap::new());
        };
        let mut out = BTreeMap::new();
        for (k, v) in obj.map {
            match v {
                Value::String(s) => {
                    out.insert(k.clone(), s.clone());
                }
                // A tag with an empty value is sometimes written as null.
                Value::Null => {
                    out.insert(k.clone(), String::new());
                }
                other => return Err(obj.wrong_type(k, "a string", other)),
            }
        }
        Ok(out)
    }
}

impl<'a> Arr<'a> {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn path_at(&self, index: usize) -> String {
        format!("{}[{index}]", self.path)
    }

    /// The object at `index`; a short array is a missing field `path[index]`.
    pub fn obj(&self, index: usize) -> Result<Obj<'a>, IntakeError> {
        match self.items.get(index) {
            None => Err(IntakeError::MissingField {
                path: self.path_at(index),
                context: self.ctx,
            }),
            Some(Value::Object(map)) => Ok(Obj {
                map,
                path: self.path_at(index),
                ctx: self.ctx,
            }),
            Some(other) => Err(IntakeError::WrongType {
                path: self.path_at(index),
                context: self.ctx,
                expected: "an object",
                found: type_name(other),
            }),
        }
    }

    /// Every element as an object, each either the object or the error for that element.
    pub fn objs(&self) -> impl Iterator<Item = Result<Obj<'a>, IntakeError>> + '_ {
        (0..self.items.len()).map(|i| self.obj(i))
    }
}

/// Parses an RFC 3339 timestamp (`2026-03-14T08:12:40Z`, `…T08:12:39.614Z`, `…+02:00`).
pub(crate) fn parse_time(f: &Field) -> Result<DateTime<Utc>, IntakeError> {
    DateTime::parse_from_rfc3339(&f.value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| IntakeError::BadTimestamp {
            path: f.path.clone(),
            context: f.ctx,
            value: quoted(&f.value),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_name_nested_fields_and_array_elements() {
        let v = json!({"detail": {"findings": [{"Resources": [{"Id": 3}]}]}});
        let root = Obj::root(&v, "the body", "Security Hub finding").unwrap();
        let r = root
            .obj("detail")
            .unwrap()
            .arr("findings")
            .unwrap()
            .obj(0)
            .unwrap()
            .arr("Resources")
            .unwrap()
            .obj(0)
            .unwrap();
        assert_eq!(
            r.str("Id").unwrap_err().to_string(),
            "field `detail.findings[0].Resources[0].Id` in Security Hub finding is a number, expected a string"
        );
        assert_eq!(
            r.str("Type").unwrap_err().to_string(),
            "missing field `detail.findings[0].Resources[0].Type` in Security Hub finding"
        );
        let findings = root.obj("detail").unwrap().arr("findings").unwrap();
        assert_eq!(
            findings.obj(3).unwrap_err().to_string(),
            "missing field `detail.findings[3]` in Security Hub finding"
        );
    }

    #[test]
    fn null_is_absent_when_optional_and_a_wrong_type_when_required() {
        let v = json!({"a": null});
        let root = Obj::root(&v, "the body", "test").unwrap();
        assert_eq!(root.opt_str("a").unwrap(), None);
        assert_eq!(
            root.str("a").unwrap_err().to_string(),
            "field `a` in test is null, expected a string"
        );
    }

    #[test]
    fn timestamps_are_rfc3339() {
        let v = json!({"t": "2026-03-14T08:12:39.614Z", "bad": "14/03/2026"});
        let root = Obj::root(&v, "the body", "test").unwrap();
        assert_eq!(
            root.time("t").unwrap().to_rfc3339(),
            "2026-03-14T08:12:39.614+00:00"
        );
        assert_eq!(
            root.time("bad").unwrap_err().to_string(),
            "field `bad` in test is not an RFC 3339 timestamp: \"14/03/2026\" (premature end of input)"
        );
    }

    #[test]
    fn flags_in_free_form_bags_are_lenient() {
        let v = json!({"a": true, "b": "TRUE", "c": 1, "d": {"x": 1}});
        let root = Obj::root(&v, "the body", "test").unwrap();
        assert!(root.flag("a"));
        assert!(root.flag("b"));
        assert!(!root.flag("c"));
        assert!(!root.flag("d"));
        assert!(!root.flag("e"));
    }
}
