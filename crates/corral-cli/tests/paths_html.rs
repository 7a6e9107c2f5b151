//! `corral paths --format html` opened in a real browser: the binary writes
//! the page, Debian's chromium (driven by `tests/browser/drive.mjs` with
//! playwright-core, both installed by `scripts/test.sh`) opens it with
//! networking off (in its own network namespace, every request but the
//! page's aborted and recorded), and the tests assert on the rendered
//! graph and DOM against the paths `--format json` gives for the same input.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use serde_json::{json, Value};

mod installed;
mod shared;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// KubeHound's test cluster with kind's nodes and RBAC, as tests/paths.rs.
fn kubehound() -> Option<Vec<OsString>> {
    let attacks = shared::shared("fixtures/kubehound/test/setup/test-cluster/attacks")?;
    let data = workspace().join("crates/corral-paths/tests/data");
    Some(vec![
        attacks.into(),
        data.join("kind-nodes.yaml").into(),
        data.join("kind-rbac.yaml").into(),
    ])
}

/// The AWS scenario of crates/corral-paths/tests/data/aws: the cluster and
/// `--cloud` with its account's files.
fn aws() -> Vec<OsString> {
    let data = workspace().join("crates/corral-paths/tests/data/aws");
    let mut args: Vec<OsString> = vec![data.join("cluster.yaml").into(), "--cloud".into()];
    args.extend(json_files(&data).into_iter().map(OsString::from));
    args
}

/// The AWS scenario's page, written into a directory kept while the test
/// holds it, and the paths `--format json` finds there.
fn aws_page() -> (tempfile::TempDir, PathBuf, Vec<Value>) {
    let inputs = aws();
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("paths.html");
    write_page(&inputs, &page);
    let paths = json_paths(&inputs);
    (dir, page, paths)
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// `corral paths ARGS --format html -o OUT`; the page's bytes.
fn write_page(args: &[OsString], out: &Path) -> Vec<u8> {
    write_page_in(&workspace(), args, out)
}

/// The same, run in `cwd` (the evidence names files as ARGS name them).
fn write_page_in(cwd: &Path, args: &[OsString], out: &Path) -> Vec<u8> {
    let output = Command::cargo_bin("corral")
        .unwrap()
        .current_dir(cwd)
        .arg("paths")
        .args(args)
        .args(["--format", "html", "--quiet", "-o"])
        .arg(out)
        .output()
        .unwrap();
    // 1: paths found.
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read(out).unwrap()
}

/// The same query's paths as `--format json` gives them.
fn json_paths_to(args: &[OsString]) -> Vec<Value> {
    let output = Command::cargo_bin("corral")
        .unwrap()
        .current_dir(workspace())
        .arg("paths")
        .args(args)
        .args(["--format", "json", "--quiet"])
        .output()
        .unwrap();
    let value: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    value["paths"].as_array().unwrap().clone()
}

/// The paths the page shows for ARGS, as `--format json` gives them: from
/// all pods or exposed endpoints to any critical target (the defaults),
/// each source's shortest path to each class of target (`--to
/// cluster-admin`, `nodes`, `cloud-admin`), so that "reaches" means
/// reaches; otherwise the query's own paths.
fn json_paths(args: &[OsString]) -> Vec<Value> {
    let value_of = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .map(|i| args[i + 1].to_string_lossy().into_owned())
    };
    let from = value_of("--from").unwrap_or_else(|| "all-pods".into());
    let to = value_of("--to").unwrap_or_else(|| "any-critical".into());
    if to != "any-critical" || !(from == "all-pods" || from == "exposed") {
        return json_paths_to(args);
    }
    let mut paths: Vec<Value> = ["cluster-admin", "nodes", "cloud-admin"]
        .iter()
        .flat_map(|class| json_paths_to(&[args, &["--to".into(), (*class).into()]].concat()))
        .collect();
    let mut seen = BTreeSet::new();
    paths.retain(|p| seen.insert((p["source"].to_string(), p["target"].to_string())));
    paths
}

struct Browser {
    node_modules: OsString,
    chromium: OsString,
    unshare: bool,
}

/// The browser and its driver; None, with a note, outside CI when
/// scripts/test.sh has not installed them.
fn browser() -> Option<Browser> {
    let node_modules = installed::tool("CORRAL_BROWSER_NODE_MODULES")?;
    let chromium = std::env::var_os("CHROMIUM").unwrap_or_else(|| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{} is missing: scripts/test.sh installs Debian's chromium",
        chromium.to_string_lossy()
    );
    // A network namespace of its own has no network at all; root (CI) can
    // make one. Elsewhere the driver's own blocking is what is left.
    let unshare = Process::new("unshare")
        .args(["--net", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !unshare {
        assert!(!shared::in_ci(), "CI runs as root: unshare --net must work");
        eprintln!("note: unshare --net is not possible here; the driver blocks requests itself");
    }
    Some(Browser {
        node_modules,
        chromium,
        unshare,
    })
}

impl Browser {
    /// Open `page`, run `steps`, and return the driver's report after
    /// asserting it clean: no console error or warning, no page error, no
    /// request but the page, no CSP violation, every step done.
    fn open(&self, page: &Path, steps: &[Value]) -> Report {
        let report = self.open_raw(page, steps);
        let problems: Vec<&Value> = report.raw["console"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["type"] == "error" || m["type"] == "warning")
            .collect();
        assert!(problems.is_empty(), "console: {problems:#?}");
        assert_eq!(report.raw["errors"], json!([]), "page errors");
        assert_eq!(report.raw["requests"], json!([]), "requests");
        assert_eq!(report.raw["csp"], json!([]), "CSP violations");
        report
    }

    fn open_raw(&self, page: &Path, steps: &[Value]) -> Report {
        let dir = tempfile::tempdir().unwrap();
        let scenario = dir.path().join("scenario.json");
        std::fs::write(&scenario, serde_json::to_vec(steps).unwrap()).unwrap();
        let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/drive.mjs");
        let mut command = if self.unshare {
            let mut c = Process::new("unshare");
            c.args(["--net", "node"]);
            c
        } else {
            Process::new("node")
        };
        let output = command
            .arg(&driver)
            .arg(page)
            .arg(&scenario)
            .env("CORRAL_BROWSER_NODE_MODULES", &self.node_modules)
            .env("CHROMIUM", &self.chromium)
            .env("TMPDIR", dir.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "drive.mjs: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let raw: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "drive.mjs: {e}: {}",
                String::from_utf8_lossy(&output.stdout)
            )
        });
        let results = raw["results"].as_array().unwrap();
        assert_eq!(results.len(), steps.len(), "{raw:#}");
        for result in results {
            assert!(result.get("error").is_none(), "step failed: {result:#}");
        }
        assert!(raw["load_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{raw}");
        Report { raw }
    }
}

struct Report {
    raw: Value,
}

impl Report {
    fn result(&self, step: usize) -> &Value {
        &self.raw["results"][step]["value"]
    }
}

/// A JavaScript expression: what the details panel shows, path by path,
/// hop by hop.
const DETAILS: &str = r#"(() => {
  const t = (e, s) => { const f = e.querySelector(s); return f ? f.textContent : null; };
  return {
    selected: t(document, '#details h2.selected'),
    members: [...document.querySelectorAll('#details ul.members > li')].map(l => l.textContent),
    paths: [...document.querySelectorAll('#details ol.paths > li.path')].map(p =>
      [...p.querySelectorAll('ol.hops > li.hop')].map(h => ({
        from: t(h, '.from'), edge: t(h, '.edge'), mitre: t(h, '.mitre'), to: t(h, '.to'),
        action: t(h, '.action'), evidence: t(h, '.evidence'), detail: t(h, '.detail'), fix: t(h, '.fix'),
      }))),
  };
})()"#;

/// The rendered graph: vertices with their data and visibility, edges
/// with their data and endpoints' labels, and whether every vertex is
/// inside the graph's viewport.
/// Read once cytoscape has drawn what changed: after any animation (a
/// search centres its result) and two frames.
const GRAPH: &str = r#"(() => { const read = () => ({
  nodes: cy.nodes().map(n => ({ id: n.id(), label: n.data('label'), kind: n.data('kind'),
    members: n.data('members'), visible: n.visible() })),
  edges: cy.edges().map(e => ({ id: e.id(), source: e.source().data('label'), target: e.target().data('label'),
    kind: e.data('kind'), mitre: e.data('mitre'), label: e.data('label'), visible: e.visible() })),
  outside: cy.nodes().filter(n => { const b = n.renderedBoundingBox({ includeLabels: false });
    return b.x1 < -1 || b.y1 < -1 || b.x2 > cy.width() + 1 || b.y2 > cy.height() + 1; }).map(n => n.data('label')),
  width: cy.width(), height: cy.height(),
});
return new Promise(done => { const settle = () => cy.animated() ? requestAnimationFrame(settle)
  : requestAnimationFrame(() => requestAnimationFrame(() => done(read()))); settle(); }); })()"#;

/// How the page shows a name: control characters (Unicode Cc), format
/// characters such as bidirectional overrides (Cf) and line and paragraph
/// separators (Zl, Zp) as `\u{..}` escapes, everything else as it is.
fn shown(text: &str) -> String {
    const FORMAT: &[(u32, u32)] = &[
        (0xad, 0xad),
        (0x600, 0x605),
        (0x61c, 0x61c),
        (0x6dd, 0x6dd),
        (0x70f, 0x70f),
        (0x890, 0x891),
        (0x8e2, 0x8e2),
        (0x180e, 0x180e),
        (0x200b, 0x200f),
        (0x202a, 0x202e),
        (0x2060, 0x2064),
        (0x2066, 0x206f),
        (0xfeff, 0xfeff),
        (0xfff9, 0xfffb),
        (0x110bd, 0x110bd),
        (0x110cd, 0x110cd),
        (0x13430, 0x1343f),
        (0x1bca0, 0x1bca3),
        (0x1d173, 0x1d17a),
        (0xe0001, 0xe0001),
        (0xe0020, 0xe007f),
    ];
    text.chars()
        .map(|c| {
            let n = c as u32;
            if c.is_control()
                || n == 0x2028
                || n == 0x2029
                || FORMAT.iter().any(|(a, b)| (*a..=*b).contains(&n))
            {
                format!("\\u{{{n:x}}}")
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The labels of every vertex on `paths`, and every edge as (from, kind, to).
fn expected_graph(paths: &[Value]) -> (BTreeSet<String>, BTreeSet<(String, String, String)>) {
    let mut vertices = BTreeSet::new();
    let mut edges = BTreeSet::new();
    for path in paths {
        for hop in path["hops"].as_array().unwrap() {
            let from = hop["from"].as_str().unwrap().to_string();
            let to = hop["to"].as_str().unwrap().to_string();
            vertices.insert(from.clone());
            vertices.insert(to.clone());
            edges.insert((from, hop["edge"].as_str().unwrap().to_string(), to));
        }
    }
    (vertices, edges)
}

fn through<'a>(paths: &'a [Value], label: &str) -> Vec<&'a Value> {
    paths
        .iter()
        .filter(|p| {
            p["hops"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["from"] == label || h["to"] == label)
        })
        .collect()
}

/// A hop as the panel should show it, from `--format json`'s hop: the
/// vertices, the edge and its MITRE ID, the action, the evidence as
/// `file:line field` (none when the hop has no file), the detail, and
/// `fix: ...` (none when there is no fix).
fn hop_matches(shown_hop: &Value, hop: &Value) -> bool {
    let text = |v: &Value| v.as_str().map(str::to_string);
    let evidence = &hop["evidence"];
    let at = evidence["file"].as_str().map(|file| {
        let mut at = file.to_string();
        if let Some(line) = evidence["line"].as_u64() {
            at.push_str(&format!(":{line}"));
        }
        if let Some(field) = evidence["field"].as_str() {
            at.push(' ');
            at.push_str(field);
        }
        shown(&at)
    });
    let fix = hop["remediation"]
        .as_str()
        .filter(|f| !f.is_empty())
        .map(|f| shown(&format!("fix: {f}")));
    text(&shown_hop["from"]) == Some(shown(hop["from"].as_str().unwrap()))
        && text(&shown_hop["to"]) == Some(shown(hop["to"].as_str().unwrap()))
        && shown_hop["edge"] == hop["edge"]
        && shown_hop["mitre"]
            .as_str()
            .is_some_and(|m| m.contains(hop["mitre"].as_str().unwrap()))
        && text(&shown_hop["action"]) == hop["action"].as_str().map(shown)
        && text(&shown_hop["evidence"]) == at
        && text(&shown_hop["detail"]) == evidence["detail"].as_str().map(shown)
        && text(&shown_hop["fix"]) == fix
}

/// The details panel shows exactly the paths of `expected`, each hop with
/// its evidence and fix.
fn assert_details_show(details: &Value, expected: &[&Value]) {
    let shown_paths = details["paths"].as_array().unwrap();
    assert_eq!(
        shown_paths.len(),
        expected.len(),
        "paths in the panel: {details:#}"
    );
    let mut unmatched: Vec<&Value> = shown_paths.iter().collect();
    for path in expected {
        let hops = path["hops"].as_array().unwrap();
        let at = unmatched.iter().position(|s| {
            let s = s.as_array().unwrap();
            s.len() == hops.len() && s.iter().zip(hops).all(|(a, b)| hop_matches(a, b))
        });
        let at = at.unwrap_or_else(|| panic!("not in the panel: {path:#}\npanel: {details:#}"));
        unmatched.remove(at);
    }
}

/// Per target class, the sources whose path ends there (the page's
/// summary), from `--format json`'s targets.
fn target_class(target: &str) -> &'static str {
    if target.starts_with("node/") {
        "node"
    } else if target.starts_with("aws/")
        || target.starts_with("gcp/")
        || target.starts_with("azure/")
    {
        "cloud-admin"
    } else {
        "cluster-admin"
    }
}

fn sources_per_class(paths: &[Value]) -> BTreeMap<&'static str, BTreeSet<String>> {
    let mut out: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    for p in paths {
        out.entry(target_class(p["target"].as_str().unwrap()))
            .or_default()
            .insert(p["source"].as_str().unwrap().to_string());
    }
    out
}

/// `12,345`, as the page counts.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn labels(nodes: &Value, visible: Option<bool>) -> BTreeSet<String> {
    nodes
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| visible.is_none_or(|v| n["visible"] == v))
        .map(|n| n["label"].as_str().unwrap().to_string())
        .collect()
}

/// The drawing's vertices: each cytoscape node's label and the labels of
/// the vertices it stands for (itself, or a group's members as its panel
/// lists them after a click).
struct Drawn {
    graph: Value,
    members: BTreeMap<String, BTreeSet<String>>,
}

impl Drawn {
    /// Open `page`, read the graph, click each group and read its members.
    fn read(browser: &Browser, page: &Path) -> Drawn {
        let graph = browser
            .open(page, &[json!({"eval": GRAPH})])
            .result(0)
            .clone();
        let groups: Vec<&Value> = graph["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["members"].as_u64() != Some(1))
            .collect();
        let mut members = BTreeMap::new();
        for n in graph["nodes"].as_array().unwrap() {
            let label = n["label"].as_str().unwrap().to_string();
            members.insert(label.clone(), BTreeSet::from([label]));
        }
        if !groups.is_empty() {
            let steps: Vec<Value> = groups
                .iter()
                .flat_map(|g| [json!({"clickVertex": g["id"]}), json!({"eval": DETAILS})])
                .collect();
            let report = browser.open(page, &steps);
            for (i, g) in groups.iter().enumerate() {
                let details = report.result(2 * i + 1);
                assert_eq!(details["selected"], g["label"]);
                let list: BTreeSet<String> = details["members"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m.as_str().unwrap().to_string())
                    .collect();
                assert_eq!(Some(list.len() as u64), g["members"].as_u64(), "{g}");
                members.insert(g["label"].as_str().unwrap().to_string(), list);
            }
        }
        Drawn { graph, members }
    }

    /// The drawn vertex that stands for `label`.
    fn holder(&self, label: &str) -> &str {
        self.members
            .iter()
            .find(|(_, m)| m.contains(label))
            .unwrap_or_else(|| panic!("{label} is not drawn"))
            .0
    }

    fn id(&self, label: &str) -> &Value {
        &self.graph["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["label"] == label)
            .unwrap()["id"]
    }

    /// The paths through a drawn vertex: through any vertex it stands for.
    fn through<'a>(&self, paths: &'a [Value], label: &str) -> Vec<&'a Value> {
        let members = &self.members[label];
        paths
            .iter()
            .filter(|p| {
                p["hops"].as_array().unwrap().iter().any(|h| {
                    members.contains(h["from"].as_str().unwrap())
                        || members.contains(h["to"].as_str().unwrap())
                })
            })
            .collect()
    }

    /// The drawn vertices and edges `paths` need.
    fn expected(&self, paths: &[Value]) -> (BTreeSet<String>, BTreeSet<(String, String, String)>) {
        let (vertices, edges) = expected_graph(paths);
        (
            vertices
                .iter()
                .map(|v| self.holder(v).to_string())
                .collect(),
            edges
                .iter()
                .map(|(from, kind, to)| {
                    (
                        self.holder(from).to_string(),
                        kind.clone(),
                        self.holder(to).to_string(),
                    )
                })
                .collect(),
        )
    }
}

fn drawn_edges(graph: &Value, visible: Option<bool>) -> BTreeSet<(String, String, String)> {
    graph["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| visible.is_none_or(|v| e["visible"] == v))
        .map(|e| {
            assert_eq!(
                e["label"].as_str().unwrap(),
                format!(
                    "{} {}",
                    e["kind"].as_str().unwrap(),
                    e["mitre"].as_str().unwrap()
                )
            );
            (
                e["source"].as_str().unwrap().to_string(),
                e["kind"].as_str().unwrap().to_string(),
                e["target"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn kubehound_page_draws_every_path_with_its_evidence_offline() {
    let Some(inputs) = kubehound() else { return };
    let Some(browser) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("paths.html");
    let bytes = write_page(&inputs, &page);
    // Deterministic: a second run writes the same bytes.
    let again = write_page(&inputs, &dir.path().join("again.html"));
    assert!(bytes == again, "two runs wrote different pages");

    let paths = json_paths(&inputs);
    assert!(paths.len() >= 10, "{paths:#?}");
    let drawn = Drawn::read(&browser, &page);
    let graph = &drawn.graph;

    // Every vertex and edge of the paths is drawn (by itself or in its
    // group), and nothing else; all inside the viewport after the fit.
    let (vertices, edges) = drawn.expected(&paths);
    assert_eq!(labels(&graph["nodes"], None), vertices);
    assert_eq!(labels(&graph["nodes"], Some(true)), vertices);
    let all_members: BTreeSet<String> = drawn.members.values().flatten().cloned().collect();
    assert_eq!(all_members, expected_graph(&paths).0);
    assert_eq!(drawn_edges(graph, None), edges);
    assert_eq!(graph["outside"], json!([]), "outside the viewport");
    assert!(graph["width"].as_f64().unwrap() > 400.0, "{graph}");

    // The drawn vertex on most paths, and a source.
    let busiest = vertices
        .iter()
        .max_by_key(|v| (drawn.through(&paths, v).len(), v.as_str()))
        .unwrap()
        .clone();
    let source_member = paths[0]["source"].as_str().unwrap();
    let source = drawn.holder(source_member).to_string();
    let node_paths = paths
        .iter()
        .filter(|p| target_class(p["target"].as_str().unwrap()) == "node")
        .count();
    assert!(node_paths > 0 && node_paths < paths.len());

    let steps = [
        json!({"clickVertex": busiest}),
        json!({"eval": DETAILS}),
        json!({"clickVertex": source}),
        json!({"eval": DETAILS}),
        json!({"fill": ["#search", source_member]}),
        json!({"eval": "[...document.querySelectorAll('#search-results li.result')].map(l => [l.dataset.vertex, l.textContent])"}),
        json!({"press": "Enter"}),
        json!({"eval": DETAILS}),
        json!({"text": "#totals"}),
        json!({"eval": "Object.fromEntries([...document.querySelectorAll('#target-classes li')].map(l => [l.dataset.targetClass, l.querySelector('.count').textContent]))"}),
        json!({"check": ["input[name=target-class][value=node]", false]}),
        json!({"eval": GRAPH}),
        json!({"text": "#totals"}),
        json!({"check": ["input[name=target-class][value=node]", true]}),
        json!({"eval": GRAPH}),
        json!({"text": "#cuts li.cut"}),
        json!({"count": "#cuts li.cut .fix"}),
        json!({"count": "#cuts li.cut .evidence"}),
        json!({"count": "#cuts li.cut"}),
    ];
    let report = browser.open(&page, &steps);

    // A click on a vertex lists every path through it with each hop's
    // evidence and fix.
    let details = report.result(1);
    assert_eq!(details["selected"], shown(&busiest));
    assert_details_show(details, &drawn.through(&paths, &busiest));
    let details = report.result(3);
    assert_eq!(details["selected"], shown(&source));
    assert_details_show(details, &drawn.through(&paths, &source));

    // Search finds the vertex (in its group, if grouped); Enter selects it.
    let results = report.result(5).as_array().unwrap();
    assert!(
        results
            .iter()
            .any(|r| &r[0] == drawn.id(&source) && r[1].as_str().unwrap().contains(source_member)),
        "{results:?}"
    );
    assert_eq!(report.result(7)["selected"], shown(&source));

    // The summary: paths shown, and sources per target class.
    let totals = report.result(8)[0].as_str().unwrap();
    let n = thousands(paths.len());
    assert!(totals.starts_with(&format!("{n} of {n} ")), "{totals}");
    let counts = report.result(9);
    for (class, sources) in sources_per_class(&paths) {
        assert_eq!(counts[class], thousands(sources.len()), "{class}: {counts}");
    }

    // Unchecking target class `node` hides the paths that end at nodes and
    // what only they pass through.
    let filtered = report.result(11);
    let kept: Vec<Value> = paths
        .iter()
        .filter(|p| target_class(p["target"].as_str().unwrap()) != "node")
        .cloned()
        .collect();
    let (kept_vertices, kept_edges) = drawn.expected(&kept);
    assert_eq!(labels(&filtered["nodes"], Some(true)), kept_vertices);
    assert_eq!(drawn_edges(filtered, Some(true)), kept_edges);
    let totals = report.result(12)[0].as_str().unwrap();
    assert!(
        totals.starts_with(&format!(
            "{} of {} ",
            thousands(kept.len()),
            thousands(paths.len())
        )),
        "{totals}"
    );
    // Checked again: all back.
    let back = labels(&report.result(14)["nodes"], Some(true));
    assert!(
        back == vertices,
        "hidden: {:?}; extra: {:?}",
        vertices.difference(&back).collect::<Vec<_>>(),
        back.difference(&vertices).collect::<Vec<_>>()
    );

    // Cut these first: each with its fix and evidence.
    let cuts = report.result(15).as_array().unwrap();
    assert!(!cuts.is_empty());
    assert_eq!(report.result(16), report.result(18));
    assert_eq!(report.result(17), report.result(18));
}

#[test]
fn aws_page_filters_by_namespace_and_shows_cloud_evidence() {
    let Some(browser) = browser() else { return };
    let (_dir, page, paths) = aws_page();
    let namespace_of = |p: &Value| {
        p["source"]
            .as_str()
            .unwrap()
            .split('/')
            .nth(1)
            .unwrap()
            .to_string()
    };
    let namespaces: BTreeSet<String> = paths.iter().map(namespace_of).collect();
    assert!(namespaces.len() >= 2, "{namespaces:?}");
    let first_ns = namespaces.iter().next().unwrap();
    let admin = paths
        .iter()
        .map(|p| p["target"].as_str().unwrap())
        .find(|t| t.starts_with("aws/"))
        .unwrap();

    let steps = [
        json!({"eval": "[...document.querySelectorAll('#namespace option')].map(o => o.value)"}),
        json!({"clickVertex": admin}),
        json!({"eval": DETAILS}),
        json!({"select": ["#namespace", first_ns]}),
        json!({"eval": GRAPH}),
        json!({"text": "#totals"}),
        json!({"eval": "Object.fromEntries([...document.querySelectorAll('#target-classes li')].map(l => [l.dataset.targetClass, l.querySelector('.count').textContent]))"}),
        json!({"select": ["#namespace", ""]}),
        json!({"check": ["input[name=source-kind][value=container]", false]}),
        json!({"eval": GRAPH}),
    ];
    let report = browser.open(&page, &steps);
    let options: Vec<String> = report
        .result(0)
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap().to_string())
        .collect();
    assert_eq!(options[0], "");
    assert_eq!(
        options[1..].iter().cloned().collect::<BTreeSet<_>>(),
        namespaces
    );
    // The cloud administrator's panel: every path to it, with the cloud
    // files' evidence.
    let details = report.result(2);
    assert_eq!(details["selected"], admin);
    assert_details_show(details, &through(&paths, admin));
    let evidence: Vec<&str> = details["paths"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p.as_array().unwrap())
        .filter_map(|h| h["evidence"].as_str())
        .collect();
    assert!(
        evidence.iter().any(|e| e.contains(".json:")),
        "{evidence:?}"
    );

    // One namespace: only its sources' paths are drawn.
    let kept: Vec<Value> = paths
        .iter()
        .filter(|p| namespace_of(p) == *first_ns)
        .cloned()
        .collect();
    assert!(!kept.is_empty() && kept.len() < paths.len());
    let (kept_vertices, _) = expected_graph(&kept);
    assert_eq!(
        labels(&report.result(4)["nodes"], Some(true)),
        kept_vertices
    );
    let totals = report.result(5)[0].as_str().unwrap();
    assert!(
        totals.starts_with(&format!("{} of {} ", kept.len(), paths.len())),
        "{totals}"
    );
    let counts = report.result(6);
    for (class, sources) in sources_per_class(&paths) {
        assert_eq!(counts[class], thousands(sources.len()), "{class}: {counts}");
    }
    // No container sources: nothing from a container is drawn.
    let kept: Vec<Value> = paths
        .iter()
        .filter(|p| !p["source"].as_str().unwrap().starts_with("container/"))
        .cloned()
        .collect();
    let (kept_vertices, _) = expected_graph(&kept);
    assert_eq!(
        labels(&report.result(9)["nodes"], Some(true)),
        kept_vertices
    );
}

#[test]
fn a_click_on_an_edge_lists_the_paths_along_it() {
    let Some(browser) = browser() else { return };
    let (_dir, page, paths) = aws_page();
    // The first hop of the first path: its edge in the drawing.
    let hop = &paths[0]["hops"][0];
    let find = format!(
        "cy.edges().filter(e => e.source().data('label') === {} && e.target().data('label') === {} && e.data('kind') === {}).map(e => e.id())",
        json!(hop["from"]),
        json!(hop["to"]),
        json!(hop["edge"])
    );
    let report = browser.open(&page, &[json!({"eval": find})]);
    let ids = report.result(0).as_array().unwrap();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let report = browser.open(
        &page,
        &[json!({"clickEdge": ids[0]}), json!({"eval": DETAILS})],
    );
    let along: Vec<&Value> = paths
        .iter()
        .filter(|p| {
            p["hops"].as_array().unwrap().iter().any(|h| {
                h["from"] == hop["from"] && h["to"] == hop["to"] && h["edge"] == hop["edge"]
            })
        })
        .collect();
    assert_details_show(report.result(1), &along);
}

/// Names Kubernetes and AWS do not validate: markup that would close the
/// data's script, an attribute breakout, a line separator, terminal
/// escapes, a comment opener, and a 10,000-character name.
const SCRIPT_BREAK: &str = "</script><script>window.pwned=1</script>";
const ATTRIBUTE_BREAK: &str = "\"'><img src=x onerror=window.pwned=2>";

/// Without `/`: `--from user/NAME` takes the name up to the next `/`.
fn long_name() -> String {
    let mut name = String::from("long<!--");
    while name.len() < 10_000 {
        name.push_str("<script>&amp;\"'<!--");
    }
    name.truncate(10_000);
    name
}

/// A pod whose service account is bound, with a Group and a User, to a
/// ClusterRole that may do anything; the names hostile; and the AWS
/// scenario with its administrator role renamed.
fn hostile_cluster(dir: &Path) -> (Vec<OsString>, [String; 4]) {
    let role = format!("{SCRIPT_BREAK}<!--\u{2028}\u{7}");
    let group = format!("{ATTRIBUTE_BREAK}\u{2028}\u{202e}\u{200b}");
    let user = format!("\u{7}\u{1b}[31m<!--{}", long_name());
    let cloud_role = format!("admin{SCRIPT_BREAK}{ATTRIBUTE_BREAK}\u{1b}[31m");
    let objects = [
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "s", "namespace": "h"}}),
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "h"},
            "spec": {"serviceAccountName": "s", "containers": [{"name": "c", "image": "nginx"}]}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": role},
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "b"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [
                {"kind": "ServiceAccount", "name": "s", "namespace": "h"},
                {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": group},
                {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": user}]}),
    ];
    let mut args: Vec<OsString> = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        let file = dir.join(format!("{i}.json"));
        // U+2028 as JSON's escape: Corral refuses it raw (go-yaml would
        // read it as a line break).
        let text = serde_json::to_string(object)
            .unwrap()
            .replace('\u{2028}', "\\u2028");
        std::fs::write(&file, text).unwrap();
        args.push(file.into());
    }
    // The AWS scenario, its administrator role `shop-admin` renamed
    // everywhere it is named.
    let aws = workspace().join("crates/corral-paths/tests/data/aws");
    std::fs::copy(aws.join("cluster.yaml"), dir.join("cluster.yaml")).unwrap();
    args.push(dir.join("cluster.yaml").into());
    args.push("--cloud".into());
    let cloud = dir.join("aws");
    std::fs::create_dir(&cloud).unwrap();
    for file in json_files(&aws) {
        let mut value: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        rename(&mut value, "shop-admin", &cloud_role);
        let out = cloud.join(file.file_name().unwrap());
        std::fs::write(&out, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
        args.push(out.into());
    }
    (args, [role, group, user, cloud_role])
}

fn rename(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::String(s) => *s = s.replace(from, to),
        Value::Array(items) => items.iter_mut().for_each(|v| rename(v, from, to)),
        Value::Object(map) => map.values_mut().for_each(|v| rename(v, from, to)),
        _ => {}
    }
}

/// No script's text holds what would end it early or change how it ends.
fn assert_scripts_intact(page: &str, hostile: &[String]) {
    let lower = page.to_ascii_lowercase();
    let opens = lower.matches("<script").count();
    assert_eq!(opens, lower.matches("</script").count());
    let mut rest = lower.as_str();
    while let Some(at) = rest.find("<script") {
        let body_start = at + rest[at..].find('>').unwrap() + 1;
        let end = body_start + rest[body_start..].find("</script").unwrap();
        let body = &rest[body_start..end];
        assert!(!body.contains("<!--"), "a script holds <!--");
        assert!(!body.contains("<script"), "a script holds <script");
        rest = &rest[end + "</script".len()..];
    }
    for name in hostile {
        assert!(!page.contains(name.as_str()), "raw in the page: {name:?}");
    }
    assert!(!page.contains(SCRIPT_BREAK));
    assert!(!page.contains(ATTRIBUTE_BREAK));
}

#[test]
fn hostile_names_stay_text() {
    let Some(browser) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (inputs, [role, group, user, cloud_role]) = hostile_cluster(dir.path());
    for (from, names) in [
        ("all-pods", vec![&role, &cloud_role]),
        (&*format!("group/{group}"), vec![&group, &role]),
        (&*format!("user/{user}"), vec![&user, &role]),
    ] {
        let args: Vec<OsString> = [&inputs[..], &["--from".into(), from.into()]].concat();
        let page = dir.path().join("paths.html");
        let text = String::from_utf8(write_page(&args, &page)).unwrap();
        let paths = json_paths(&args);
        let (vertices, _) = expected_graph(&paths);
        let script_tags = text.to_ascii_lowercase().matches("<script").count();
        let hostile: Vec<String> = [&role, &group, &user, &cloud_role]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_scripts_intact(&text, &hostile);

        // Each hostile name is a vertex's label: find those.
        let mut steps = vec![json!({"eval": GRAPH})];
        let mut clicked = Vec::new();
        for name in &names {
            let label = vertices
                .iter()
                .find(|v| v.contains(name.as_str()))
                .unwrap_or_else(|| panic!("{from}: no vertex named {name:?}: {vertices:#?}"));
            steps.push(json!({"clickVertex": label}));
            steps.push(json!({"eval": DETAILS}));
            steps.push(json!({"textContent": "#details"}));
            clicked.push(label.clone());
        }
        steps.push(json!({"fill": ["#search", names[0]]}));
        steps.push(json!({"press": "Enter"}));
        steps.push(json!({"eval": DETAILS}));
        steps.push(json!({"eval": "[typeof window.pwned, document.querySelectorAll('img').length, document.querySelectorAll('script').length, document.querySelectorAll('[onerror], [onload]').length]"}));
        let report = browser.open(&page, &steps);
        let graph = report.result(0);
        assert_eq!(labels(&graph["nodes"], None), vertices, "{from}");
        for (i, label) in clicked.iter().enumerate() {
            let details = report.result(2 + 3 * i);
            assert_eq!(details["selected"], shown(label), "{from}");
            assert_details_show(details, &through(&paths, label));
            let text = report.result(3 + 3 * i)[0].as_str().unwrap();
            assert!(text.contains(&shown(label)), "{from}: {label:?}");
            assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'));
        }
        // Search by the hostile name finds its vertex, shown as text.
        let found = report.result(steps.len() - 2)["selected"].as_str().unwrap();
        assert!(found.contains(&shown(names[0])), "{from}: {found:?}");
        assert_eq!(
            report.result(steps.len() - 1),
            &json!(["undefined", 0, script_tags, 0]),
            "{from}"
        );
    }
}

/// The example cluster's page as a picture: target/paths.png, and with
/// CORRAL_UPDATE_SCREENSHOT=1, docs/paths.png for the README. Run from the
/// workspace with relative paths, as the README's command is; the vertex
/// on most paths selected, zoomed in on it (zoom 1).
#[test]
fn screenshot_of_the_example_cluster() {
    let Some(browser) = browser() else { return };
    let root = workspace();
    let inputs: Vec<OsString> = if root.join("examples/attack-paths").is_dir() {
        let mut args: Vec<OsString> = vec!["examples/attack-paths".into(), "--cloud".into()];
        for file in json_files(&root.join("examples/attack-paths/aws")) {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            args.push(format!("examples/attack-paths/aws/{name}").into());
        }
        args
    } else {
        vec!["examples".into()]
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("paths.html");
    write_page_in(&root, &inputs, &page);
    let paths = json_paths(&inputs);
    assert!(!paths.is_empty());
    let drawn = Drawn::read(&browser, &page);
    assert_eq!(drawn.graph["outside"], json!([]));
    let (vertices, _) = drawn.expected(&paths);
    let busiest = vertices
        .iter()
        .max_by_key(|v| (drawn.through(&paths, v).len(), v.as_str()))
        .unwrap();
    let png = root.join("target/paths.png");
    browser.open(
        &page,
        &[
            json!({"clickVertex": busiest}),
            // Zoomed in on it, so the labels read.
            json!({ "eval": format!(
                "(() => {{ const n = cy.getElementById({}); \
                 cy.zoom(1); cy.center(n); \
                 return new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(cy.zoom())))); }})()",
                drawn.id(busiest)
            ) }),
            // Cytoscape redraws sharp once the view has been still a while.
            json!({"wait": 1000}),
            json!({"screenshot": png}),
        ],
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    // 1600 by 1000, as the driver's viewport.
    assert_eq!(&bytes[16..24], &[0, 0, 6, 64, 0, 0, 3, 232]);
    if std::env::var_os("CORRAL_UPDATE_SCREENSHOT").is_some_and(|v| v == "1") {
        std::fs::write(root.join("docs/paths.png"), &bytes).unwrap();
    }
}
