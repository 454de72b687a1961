//! Snapshots of the text and JSON reports of the shared sample (the other formats keep theirs
//! in their own modules).

use super::*;
use crate::model::sample;

#[test]
fn text_report_snapshot() {
    let text = text::render(&sample::report(), text::TextStyle::default());
    insta::assert_snapshot!(text);
}

#[test]
fn json_report_snapshot() {
    let json = json::render(&sample::report());
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["schema"], 1);
    insta::assert_snapshot!(json);
}
