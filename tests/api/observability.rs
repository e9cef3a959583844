//! The dashboard and alert rules in `ops/` name only metrics Porta exports.

use crate::common::*;

/// Every `porta_…` metric name in `text`, with histogram suffixes taken off.
fn metric_names(text: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("porta_") {
        let start = i + at;
        let before_ok =
            start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let end = text[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(text.len(), |e| start + e);
        if before_ok {
            let name = &text[start..end];
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            names.insert(base.to_string());
        }
        i = end;
    }
    names
}

#[tokio::test]
async fn the_dashboard_and_alerts_name_only_exported_metrics() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ops");
    let dashboard = std::fs::read_to_string(root.join("grafana-dashboard.json")).unwrap();
    let parsed: serde_json::Value =
        serde_json::from_str(&dashboard).expect("the dashboard is JSON");
    assert!(parsed["panels"].as_array().is_some_and(|p| !p.is_empty()));
    let alerts = std::fs::read_to_string(root.join("prometheus-alerts.yml")).unwrap();
    assert!(alerts.contains("groups:") && alerts.contains("alert: PortaOutboxStuck"));

    // A Porta that has done a little of everything, so labelled series exist.
    let app = TestApp::spawn().await;
    let client = app.confidential().await;
    app.user(EMAIL, PASSWORD).await;
    app.sign_in_tokens(&client).await;
    let _ = Browser::new()
        .submit_login(&app, &app.url("/login"), EMAIL, "wrong password")
        .await;
    let exported = http()
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let exported = metric_names(&exported);
    let named: std::collections::BTreeSet<String> = metric_names(&dashboard)
        .into_iter()
        .chain(metric_names(&alerts))
        .collect();
    assert!(named.len() >= 8, "{named:?}");
    let missing: Vec<_> = named.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "named but not exported: {missing:?}; exported: {exported:?}"
    );
}
