//! Every bad anchors file under testdata/config-errors gives its `anchors.yaml:LINE:COL` messages.

use anchorcheck::anchors::{self, AnchorsError};

#[test]
fn config_errors_are_reported_with_positions() {
    insta::glob!("../../testdata/config-errors", "*.yaml", |path| {
        let source = std::fs::read_to_string(path).unwrap();
        let err = anchors::parse(&source, path, std::path::Path::new("anchors.yaml"))
            .expect_err("a bad anchors file must not validate");
        let AnchorsError::Invalid { problems, .. } = &err else {
            panic!("expected configuration problems, got {err}");
        };
        assert!(!problems.is_empty());
        insta::assert_snapshot!(err.to_string());
    });
}
