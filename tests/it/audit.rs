//! `anchorcheck audit`: the terminal audit and the HTML evidence page, on the bundled example and
//! on a hostile fixture whose Go strings, comments and claim text hold HTML and `</script>`.

use std::path::Path;

use crate::common::{Fixture, TestRepo, anchorcheck, fixture_repo, testdata, verify_json};
use scraper::{ElementRef, Html, Selector};

/// testdata/hostile rev1 (guard fail-closed) -> rev2 "simplify startup checks" (guard fail-open,
/// banner moved down two lines). anchors.yaml has `at` = the first commit on the guard.
fn hostile_repo(upto: usize) -> Fixture {
    fixture_repo(
        "hostile",
        &["add evil package", "simplify startup checks"][..upto],
    )
}

fn audit_text(dir: &Path, args: &[&str]) -> (i32, String) {
    let output = anchorcheck(dir)
        .arg("audit")
        .args(["--color", "never"])
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

/// Writes the page with `audit --html` and returns its text.
fn audit_html(dir: &Path) -> String {
    let out = dir.join("out").join("audit.html");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let output = anchorcheck(dir)
        .args(["audit", "--html"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&output.stdout).starts_with("wrote "),
        "{output:?}"
    );
    std::fs::read_to_string(out).unwrap()
}

fn select<'a>(doc: &'a Html, css: &str) -> Vec<ElementRef<'a>> {
    doc.select(&Selector::parse(css).unwrap()).collect()
}

fn text(element: &ElementRef<'_>) -> String {
    element.text().collect()
}

#[test]
fn terminal_audit_shows_broken_guard_reason_culprit_and_new_place() {
    let Fixture { repo, commits } = hostile_repo(2);
    let (code, out) = audit_text(repo.path(), &[]);
    assert_eq!(code, 1, "{out}");
    let short = &commits[1].to_string()[..7];
    assert!(
        out.contains(&format!(
            "broken since {short} 2026-09-23 'simplify startup checks'"
        )),
        "{out}"
    );
    assert!(out.contains("fail-open"), "{out}");
    // banner has no `at`: history is followed from the commit where it last held, and keeps
    // the cited shape (the whole function).
    assert!(
        out.contains("now at pkg/evil/evil.go:19-21 (found by history)"),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn audit_exits_zero_only_when_every_ref_verifies() {
    let repo = hostile_repo(1).repo;
    let (code, out) = audit_text(repo.path(), &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("3 claims: 3 verified"), "{out}");
}

#[test]
fn audit_claim_flag_selects_claims_and_rejects_unknown_ids() {
    let repo = hostile_repo(1).repo;
    let (_, out) = audit_text(repo.path(), &["--claim", "banner"]);
    assert!(out.contains("VERIFIED banner"), "{out}");
    assert!(!out.contains("mtls-guard"), "{out}");
    let (code, _) = audit_text(repo.path(), &["--claim", "banerr"]);
    assert_eq!(code, 2);
}

#[test]
fn html_page_shows_hostile_repository_text_as_text() {
    let repo = hostile_repo(2).repo;
    let page = audit_html(repo.path());
    let lower = page.to_lowercase();
    assert_eq!(lower.matches("<script").count(), 0, "markup leaked");
    assert_eq!(lower.matches("</script").count(), 0, "markup leaked");
    assert_eq!(lower.matches("<img").count(), 0, "markup leaked");
    assert_eq!(
        lower.matches("<style").count(),
        1,
        "only the page's own style sheet"
    );
    assert!(!page.contains("<b>"), "markup leaked");

    let doc = Html::parse_document(&page);
    assert!(select(&doc, "script, img, b, body style").is_empty());
    let body = text(&select(&doc, "body")[0]);
    for hostile in [
        r#""</script><script>alert(1)</script>""#,
        r#"`<img src=x onerror="alert('raw')">`"#,
        "/* Block comment with <style>body{display:none}</style> & </pre></table> */",
        r#"Strings hold <script>alert("title")</script> & friends"#,
        "</td><b>ops</b>",
        r#"log.Printf("mtls <required> & \"enforced\"")"#,
    ] {
        assert!(body.contains(hostile), "missing as text: {hostile}");
    }
    // The highlighted string token holds the hostile text, escaped inside one span.
    let strings: Vec<String> = select(&doc, "td.src span.t-string")
        .iter()
        .map(text)
        .collect();
    assert!(strings.contains(&r#""</script><script>alert(1)</script>""#.to_string()));
}

#[test]
fn html_page_has_every_claim_verdict_section_and_marked_evidence() {
    let Fixture { repo, commits } = hostile_repo(2);
    let (_, report) = verify_json(repo.path(), &[]);
    let page = audit_html(repo.path());
    let doc = Html::parse_document(&page);
    assert_eq!(select(&doc, "html[lang=en]").len(), 1);
    assert_eq!(select(&doc, "meta[name=viewport]").len(), 1);
    assert!(page.contains("@media print"));
    assert_eq!(select(&doc, "h1").len(), 1);
    let heads = select(&doc, "table.summary thead th");
    assert!(!heads.is_empty() && heads.iter().all(|h| h.attr("scope") == Some("col")));

    let rows = select(&doc, "table.summary tbody tr");
    let claims = report["claims"].as_array().unwrap();
    assert_eq!(rows.len(), claims.len());
    for (row, claim) in rows.iter().zip(claims) {
        let id = claim["id"].as_str().unwrap();
        let verdict = claim["verdict"].as_str().unwrap();
        let th = row
            .select(&Selector::parse("th[scope=row] a").unwrap())
            .next();
        let link = th.unwrap_or_else(|| panic!("no row header for {id}"));
        assert_eq!(text(&link), id);
        assert_eq!(link.attr("href"), Some(format!("#claim-{id}").as_str()));
        let badge = row
            .select(&Selector::parse(".badge").unwrap())
            .next()
            .unwrap();
        assert!(text(&badge).ends_with(verdict), "{id}: {}", text(&badge));
        let section = select(&doc, &format!("section#claim-{id}"));
        assert_eq!(section.len(), 1, "no section for {id}");
        let h2 = section[0]
            .select(&Selector::parse("h2").unwrap())
            .next()
            .unwrap();
        assert!(text(&h2).contains(id) && text(&h2).contains(verdict));
    }

    // The weakened guard: its near-miss line marked, the reason and the culprit shown.
    let guard = &select(&doc, "section#claim-mtls-guard")[0];
    let missed: Vec<String> = guard
        .select(&Selector::parse("tr.miss td.ln").unwrap())
        .map(|td| text(&td))
        .collect();
    assert!(!missed.is_empty(), "no near-miss line marked");
    assert!(text(guard).contains("fail-open"));
    let culprit = guard.select(&Selector::parse("p.culprit").unwrap()).next();
    let culprit = text(&culprit.expect("culprit shown"));
    assert!(culprit.contains("broken since") && culprit.contains(&commits[1].to_string()));

    // The moved banner: the new place's lines, matched lines marked.
    let banner = &select(&doc, "section#claim-banner")[0];
    assert!(text(banner).contains("pkg/evil/evil.go:19-21"));
    let hits: Vec<String> = banner
        .select(&Selector::parse("tr.hit td.ln").unwrap())
        .map(|td| text(&td))
        .collect();
    assert_eq!(hits, ["20"]);
    assert!(!select(&doc, "td.src span.t-keyword").is_empty());
}

#[test]
fn audit_of_bundled_example_shows_every_claim_with_its_excerpt() {
    let mut repo = TestRepo::new();
    repo.copy_tree(&testdata("zen-mesh"), "testdata/zen-mesh");
    let anchors = Path::new(env!("CARGO_MANIFEST_DIR")).join("anchors.yaml");
    repo.write("anchors.yaml", std::fs::read(anchors).unwrap());
    repo.commit_all("import zen-mesh");
    let (_, report) = verify_json(repo.path(), &[]);
    let (code, out) = audit_text(repo.path(), &[]);
    assert_eq!(code, 0, "{out}");
    for claim in report["claims"].as_array().unwrap() {
        let id = claim["id"].as_str().unwrap();
        assert!(out.contains(&format!("VERIFIED {id} ")), "{id} missing");
        for r in claim["refs"].as_array().unwrap() {
            let (path, lines) = (r["path"].as_str().unwrap(), r["lines"].as_str().unwrap());
            let header = format!("[verified] {path}:{lines}\n");
            let block = out.split(&header).nth(1).expect("ref shown");
            let block = block.split("\n  [").next().unwrap();
            let first = lines.split('-').next().unwrap();
            assert!(
                block.lines().any(|l| l
                    .trim_start_matches([' ', '>'])
                    .starts_with(&format!("{first} | "))),
                "no excerpt for {path}:{lines}:\n{block}"
            );
        }
    }
}
