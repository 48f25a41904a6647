//! `[match.where]` conditions: tests on finding fields and on the detail by JSON pointer.
//!
//! ```toml
//! [match.where]
//! "/resource/accessKeyDetails/userType" = "IAMUser"           # equality
//! "/service/resourceRole" = { one_of = ["ACTOR"] }            # one of
//! severity = { min = 7 }                                      # numeric range, inclusive
//! "/resource/accessKeyDetails/accessKeyId" = { prefix = "AKIA" }
//! "tags.Environment" = { none_of = ["sandbox"] }
//! ```

use serde_json::Value as Json;

use crate::finding::Finding;
use crate::template::Var;

/// The operators a condition table accepts.
pub const OPERATORS: &[&str] = &[
    "equals", "one_of", "none_of", "min", "max", "prefix", "exists",
];

/// The test applied to one field. Every operator given must hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Test {
    pub equals: Option<Json>,
    pub one_of: Option<Vec<Json>>,
    pub none_of: Option<Vec<Json>>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub prefix: Option<String>,
    pub exists: Option<bool>,
}

/// One condition: a field and its test.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub field: Var,
    pub test: Test,
}

impl Condition {
    pub fn holds(&self, finding: &Finding) -> bool {
        self.test.holds(self.field.json(finding).as_ref())
    }
}

fn json_eq(a: &Json, b: &Json) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if a.is_number() && b.is_number() => x == y,
        _ => a == b,
    }
}

impl Test {
    /// Whether a field with `value` (`None`: absent) passes.
    pub fn holds(&self, value: Option<&Json>) -> bool {
        let value = value.filter(|v| !v.is_null());
        if let Some(want) = self.exists
            && want != value.is_some()
        {
            return false;
        }
        if let Some(none_of) = &self.none_of
            && value.is_some_and(|v| none_of.iter().any(|n| json_eq(v, n)))
        {
            return false;
        }
        let needs_value = self.equals.is_some()
            || self.one_of.is_some()
            || self.min.is_some()
            || self.max.is_some()
            || self.prefix.is_some();
        let Some(v) = value else {
            return !needs_value;
        };
        if let Some(eq) = &self.equals
            && !json_eq(v, eq)
        {
            return false;
        }
        if let Some(one_of) = &self.one_of
            && !one_of.iter().any(|o| json_eq(v, o))
        {
            return false;
        }
        if self.min.is_some() || self.max.is_some() {
            // Ranges compare numbers only: "7" is not 7 (a string in the detail is a string).
            let Some(n) = v.as_f64().filter(|_| v.is_number()) else {
                return false;
            };
            if self.min.is_some_and(|m| n < m) || self.max.is_some_and(|m| n > m) {
                return false;
            }
        }
        if let Some(prefix) = &self.prefix
            && !v.as_str().is_some_and(|s| s.starts_with(prefix.as_str()))
        {
            return false;
        }
        true
    }

    /// The finite set of values this test allows, where it names one.
    fn finite(&self) -> Option<Vec<&Json>> {
        match (&self.equals, &self.one_of) {
            (Some(e), _) => Some(vec![e]),
            (None, Some(o)) => Some(o.iter().collect()),
            (None, None) => None,
        }
    }

    /// Whether no value at all can pass: such a condition makes its playbook dead.
    pub fn is_unsatisfiable(&self) -> bool {
        if let Some(values) = self.finite() {
            return !values.iter().any(|v| self.holds(Some(v)));
        }
        if let (Some(lo), Some(hi)) = (self.min, self.max)
            && lo > hi
        {
            return true;
        }
        let positive = self.min.is_some() || self.max.is_some() || self.prefix.is_some();
        self.exists == Some(false) && positive
    }

    /// Whether some value can pass both tests (conservative: `true` when unsure).
    pub fn overlaps(&self, other: &Test) -> bool {
        // A finite side decides exactly: one of its values must pass the other test.
        if let Some(values) = self.finite() {
            return values
                .iter()
                .any(|v| self.holds(Some(v)) && other.holds(Some(v)));
        }
        if let Some(values) = other.finite() {
            return values
                .iter()
                .any(|v| other.holds(Some(v)) && self.holds(Some(v)));
        }
        // Absent vs present.
        let self_absent = self.exists == Some(false);
        let other_absent = other.exists == Some(false);
        if self_absent != other_absent {
            let present = if self_absent { other } else { self };
            return present.holds(None);
        }
        // Ranges.
        let lo = max_opt(self.min, other.min);
        let hi = min_opt(self.max, other.max);
        if let (Some(lo), Some(hi)) = (lo, hi)
            && lo > hi
        {
            return false;
        }
        // A number cannot have a prefix and a string cannot be in a range.
        let ranged = self.min.or(self.max).or(other.min).or(other.max).is_some();
        let prefixed = self.prefix.is_some() || other.prefix.is_some();
        if ranged && prefixed {
            return false;
        }
        if let (Some(a), Some(b)) = (&self.prefix, &other.prefix) {
            return a.starts_with(b.as_str()) || b.starts_with(a.as_str());
        }
        true
    }
}

fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

fn min_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eq(v: Json) -> Test {
        Test {
            equals: Some(v),
            ..Test::default()
        }
    }

    fn range(min: Option<f64>, max: Option<f64>) -> Test {
        Test {
            min,
            max,
            ..Test::default()
        }
    }

    #[test]
    fn equality_compares_numbers_by_value() {
        assert!(eq(json!(7)).holds(Some(&json!(7.0))));
        assert!(!eq(json!("7")).holds(Some(&json!(7))));
        assert!(!eq(json!("IAMUser")).holds(None));
    }

    #[test]
    fn ranges_are_inclusive_and_numeric_only() {
        let t = range(Some(7.0), None);
        assert!(t.holds(Some(&json!(7))));
        assert!(t.holds(Some(&json!(8.9))));
        assert!(!t.holds(Some(&json!(6.9))));
        assert!(!t.holds(Some(&json!("8"))));
        assert!(!t.holds(None));
    }

    #[test]
    fn none_of_and_exists_treat_absence_as_absence() {
        let t = Test {
            none_of: Some(vec![json!("sandbox")]),
            ..Test::default()
        };
        assert!(t.holds(None));
        assert!(!t.holds(Some(&json!("sandbox"))));
        let absent = Test {
            exists: Some(false),
            ..Test::default()
        };
        assert!(absent.holds(None));
        assert!(absent.holds(Some(&Json::Null)));
        assert!(!absent.holds(Some(&json!(1))));
    }

    #[test]
    fn prefix_matches_strings() {
        let t = Test {
            prefix: Some("AKIA".into()),
            ..Test::default()
        };
        assert!(t.holds(Some(&json!("AKIAEXAMPLE"))));
        assert!(!t.holds(Some(&json!("ASIAEXAMPLE"))));
    }

    #[test]
    fn unsatisfiable_tests_are_found() {
        assert!(range(Some(8.0), Some(7.0)).is_unsatisfiable());
        assert!(
            Test {
                one_of: Some(vec![]),
                ..Test::default()
            }
            .is_unsatisfiable()
        );
        assert!(
            Test {
                equals: Some(json!(3)),
                min: Some(7.0),
                ..Test::default()
            }
            .is_unsatisfiable()
        );
        assert!(!range(Some(7.0), Some(7.0)).is_unsatisfiable());
    }

    #[test]
    fn overlap_is_decided_by_values_ranges_and_prefixes() {
        assert!(!eq(json!("IAMUser")).overlaps(&eq(json!("AssumedRole"))));
        assert!(eq(json!("IAMUser")).overlaps(&Test {
            one_of: Some(vec![json!("IAMUser"), json!("Root")]),
            ..Test::default()
        }));
        assert!(!range(Some(7.0), None).overlaps(&range(None, Some(6.9))));
        assert!(range(Some(5.0), None).overlaps(&range(None, Some(7.0))));
        let akia = Test {
            prefix: Some("AKIA".into()),
            ..Test::default()
        };
        let asia = Test {
            prefix: Some("ASIA".into()),
            ..Test::default()
        };
        assert!(!akia.overlaps(&asia));
        assert!(akia.overlaps(&Test::default()));
        let absent = Test {
            exists: Some(false),
            ..Test::default()
        };
        assert!(!absent.overlaps(&range(Some(1.0), None)));
    }
}
