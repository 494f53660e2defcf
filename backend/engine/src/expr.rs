//! Conditions in CEL (Common Expression Language): sandboxed, side-effect free, no loops, no I/O.
//!
//! Expressions see two variables: `form` (the affair's form data) and `applicant` (attributes of
//! the applicant such as `kind`, `department_code`). Only these names may be referenced, so a typo
//! is caught when a definition is saved rather than when an affair reaches the gateway.

use std::fmt;

use cel::{Context, Program, Value};

/// Variables an expression may reference.
pub const VARIABLES: &[&str] = &["form", "applicant"];

/// Longest accepted expression, in bytes.
pub const MAX_LEN: usize = 2000;

/// A compiled condition.
pub struct Expr {
    source: String,
    program: Program,
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Expr").field(&self.source).finish()
    }
}

impl Clone for Expr {
    fn clone(&self) -> Self {
        // Re-parsing source that parsed before cannot fail.
        Expr::compile(&self.source).unwrap_or_else(|_| unreachable!("re-compiling a compiled expression"))
    }
}

/// Why an expression is refused or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    /// Not valid CEL.
    #[error("syntax error: {0}")]
    Syntax(String),
    /// Longer than [`MAX_LEN`].
    #[error("expression longer than {MAX_LEN} bytes")]
    TooLong,
    /// References a variable other than `form` and `applicant`.
    #[error("unknown variable `{0}` (use `form` or `applicant`)")]
    UnknownVariable(String),
    /// Evaluation failed (missing field, wrong type).
    #[error("evaluation failed: {0}")]
    Eval(String),
    /// Evaluated to something other than a boolean.
    #[error("the condition must be true or false, got {0}")]
    NotBool(String),
}

impl Expr {
    /// Parse and check an expression.
    pub fn compile(source: &str) -> Result<Expr, ExprError> {
        if source.len() > MAX_LEN {
            return Err(ExprError::TooLong);
        }
        let program = Program::compile(source).map_err(|e| ExprError::Syntax(e.to_string()))?;
        if let Some(v) = program.references().variables().into_iter().find(|v| !VARIABLES.contains(v)) {
            return Err(ExprError::UnknownVariable(v.to_owned()));
        }
        Ok(Expr { source: source.to_owned(), program })
    }

    /// The source text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluate to a boolean with the given form data and applicant attributes.
    pub fn eval_bool(&self, form: &serde_json::Value, applicant: &serde_json::Value) -> Result<bool, ExprError> {
        let mut ctx = Context::default();
        ctx.add_variable("form", form.clone()).map_err(|e| ExprError::Eval(e.to_string()))?;
        ctx.add_variable("applicant", applicant.clone()).map_err(|e| ExprError::Eval(e.to_string()))?;
        match self.program.execute(&ctx) {
            Ok(Value::Bool(b)) => Ok(b),
            Ok(other) => Err(ExprError::NotBool(format!("{other:?}"))),
            Err(e) => Err(ExprError::Eval(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conditions_over_form_and_applicant() {
        let e = Expr::compile("form.days > 3 && applicant.kind == 'student'").expect("compile");
        let a = json!({ "kind": "student" });
        assert_eq!(e.eval_bool(&json!({ "days": 5 }), &a), Ok(true));
        assert_eq!(e.eval_bool(&json!({ "days": 2 }), &a), Ok(false));
        assert!(matches!(e.eval_bool(&json!({}), &a), Err(ExprError::Eval(_))));
        let e = Expr::compile("'x' in form.tags").expect("compile");
        assert_eq!(e.eval_bool(&json!({ "tags": ["x", "y"] }), &a), Ok(true));
    }

    #[test]
    fn refuses_bad_syntax_unknown_names_and_non_booleans() {
        assert!(matches!(Expr::compile("form.days >"), Err(ExprError::Syntax(_))));
        assert_eq!(Expr::compile("secret.x == 1").err(), Some(ExprError::UnknownVariable("secret".into())));
        assert_eq!(Expr::compile(&"1 + ".repeat(1000)).err(), Some(ExprError::TooLong));
        let e = Expr::compile("form.name").expect("compile");
        assert!(matches!(e.eval_bool(&json!({ "name": "x" }), &json!({})), Err(ExprError::NotBool(_))));
    }
}
