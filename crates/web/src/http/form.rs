//! Form bodies (`application/x-www-form-urlencoded`) as pages post them: fields
//! by name, repeated fields (camera check boxes), and the JSON bodies of the API
//! with one message when they are missing or malformed.

use axum::Json;

use crate::http::error::WebError;

/// The fields of a form body, in order.
pub struct FormFields(Vec<(String, String)>);

impl FormFields {
    pub fn parse(body: &str) -> FormFields {
        FormFields(
            url::form_urlencoded::parse(body.as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// The first value of `name` (empty when absent).
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Every value of `name` that parses as a number (check boxes).
    pub fn numbers(&self, name: &str) -> Vec<i64> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .filter_map(|(_, v)| v.trim().parse().ok())
            .collect()
    }
}

/// The JSON body of an API request, or a message saying the shape expected.
pub fn json_body<T>(b: Option<Json<T>>, shape: &str) -> Result<T, WebError> {
    b.map(|Json(v)| v)
        .ok_or_else(|| WebError::bad_input(format!("expected JSON {shape}")))
}
