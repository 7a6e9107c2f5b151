//! The picture of attack paths as one self-contained HTML page: the
//! vendored graph libraries (`assets/vendor/`, see its `vendor.json`), the
//! page's own script and style, and the picture's data, all inline. A
//! Content-Security-Policy allows exactly these scripts and style by
//! their hashes and nothing else: no request leaves the page, and a name
//! that somehow became markup could not run.
//!
//! Why cytoscape.js with dagre: cytoscape draws large graphs on a canvas
//! with pan, zoom, selection and styles by data, with no dependency, and
//! is kept up by its consortium; dagre (`@dagrejs/dagre`, kept by the
//! dagrejs organisation) lays out directed graphs in ranks (the Sugiyama
//! method), which is what "from sources, left, to targets, right" needs.
//! Both are MIT, ship one minified file each, and need no build step.

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::picture::Picture;

const CYTOSCAPE: &str = include_str!("../assets/vendor/cytoscape.min.js");
const DAGRE: &str = include_str!("../assets/vendor/dagre.min.js");
const PAGE_SCRIPT: &str = include_str!("../assets/page.js");
const PAGE_STYLE: &str = include_str!("../assets/page.css");
/// Cytoscape adds this stylesheet unless the page has it: given here, so
/// the policy need not allow a style the page did not write.
const CYTOSCAPE_STYLE: &str = ".__________cytoscape_container { position: relative; }";
const BODY: &str = include_str!("../assets/body.html");

/// `'sha256-…'` of an inline script or style, as CSP matches it.
fn csp_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// `script` without its last line's `//# sourceMappingURL=` comment:
/// developer tools would fetch the map beside the page, a request the
/// policy does not govern. The vendored file itself stays as published.
fn without_source_map(script: &str) -> &str {
    let trimmed = script.trim_end();
    match trimmed.rfind('\n') {
        Some(at) if trimmed[at + 1..].starts_with("//# sourceMappingURL=") => &script[..at + 1],
        _ => script,
    }
}

/// The page: deterministic for the same picture.
pub fn page(picture: &Picture) -> String {
    let data = serde_json::to_string(picture).unwrap_or_else(|_| "{}".to_string());
    let data = corral_core::safe::script_json(&data);
    let scripts = [CYTOSCAPE, without_source_map(DAGRE), PAGE_SCRIPT];
    let policy = format!(
        "default-src 'none'; script-src {}; style-src {} {}; img-src data:; base-uri 'none'; form-action 'none'",
        scripts.map(csp_hash).join(" "),
        csp_hash(PAGE_STYLE),
        csp_hash(CYTOSCAPE_STYLE),
    );
    let title = format!(
        "Attack paths: {}",
        corral_core::safe::xml(&corral_core::safe::one_line(
            &picture.query.inputs.join(" ")
        ))
    );
    let mut out = String::with_capacity(data.len() + CYTOSCAPE.len() + DAGRE.len() + 64 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(&format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{policy}\">\n"
    ));
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(&format!("<title>{title}</title>\n"));
    out.push_str(&format!(
        "<style id=\"__________cytoscape_stylesheet\">{CYTOSCAPE_STYLE}</style>\n"
    ));
    out.push_str(&format!("<style>{PAGE_STYLE}</style>\n</head>\n"));
    out.push_str(BODY);
    out.push_str("<script type=\"application/json\" id=\"corral-data\">");
    out.push_str(&data);
    out.push_str("</script>\n");
    for script in scripts {
        out.push_str("<script>");
        out.push_str(script);
        out.push_str("</script>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendored_scripts_cannot_end_their_element() {
        // Inlined as they are: a `</script` inside would end the element.
        for script in [CYTOSCAPE, DAGRE, PAGE_SCRIPT] {
            assert!(!script.to_ascii_lowercase().contains("</script"));
            assert!(!script.contains("<!--"));
        }
        assert!(!PAGE_STYLE.to_ascii_lowercase().contains("</style"));
    }

    #[test]
    fn no_script_names_a_source_map() {
        for script in [CYTOSCAPE, without_source_map(DAGRE), PAGE_SCRIPT] {
            assert!(!script.contains("sourceMappingURL"));
        }
        assert!(without_source_map(DAGRE).len() < DAGRE.len());
    }
}
