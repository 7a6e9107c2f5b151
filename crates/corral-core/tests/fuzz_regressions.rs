//! Inputs the loader fuzz targets once failed on (`fuzz/`): each must load
//! without panicking, the fast parser must agree with saphyr on it, and
//! CRD schema blanking must change nothing but the schemas.

use std::fs;
use std::sync::Arc;

use corral_core::{load_bytes, Limits};

#[test]
fn past_fuzz_failures_stay_fixed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut count = 0;
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = fs::read(&path).unwrap();
        let (objects, diagnostics) = load_bytes(
            &Arc::from("regression.yaml"),
            &bytes,
            &Limits::default(),
            &|_| {},
        );
        // Every position is on a line of the file, as Corral counts them.
        let lines = corral_core::lines::count(&bytes) as u32;
        let mut positions: Vec<corral_core::Pos> =
            diagnostics.iter().filter_map(|d| d.pos).collect();
        for object in &objects {
            let mut stack = vec![&object.root];
            while let Some(node) = stack.pop() {
                positions.push(node.pos);
                stack.extend(node.items().unwrap_or_default());
                for entry in node.entries().unwrap_or_default() {
                    positions.push(entry.key_pos);
                    stack.push(&entry.value);
                }
            }
        }
        for pos in positions {
            assert!(
                pos.line >= 1 && pos.line <= lines,
                "{}: {pos:?} of {lines} lines",
                path.display()
            );
        }
        if let Ok(text) = std::str::from_utf8(&bytes) {
            corral_core::fuzzing::check_fast_path(text);
            corral_core::fuzzing::check_crd_blanking(text);
        }
        count += 1;
    }
    assert!(count > 0);
}
