//! Finding input files and turning them into [`Object`]s.
//!
//! Files are read in parallel, and each file is cut into its YAML documents
//! before parsing (a line starting with `---` is a document marker wherever it
//! stands, by the YAML spec), so documents parse in parallel and a syntax
//! error loses only the document it is in.

use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::diagnostic::{Diagnostic, Severity};
use crate::fast;
use crate::lines;
use crate::node::{Entry, Node, Pos, Value};
use crate::object::Object;
use crate::parse::{parse_stream, Document, ParseOutput};
use crate::Limits;

/// Where objects come from: a file or directory, or standard input (`-`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Path(PathBuf),
    Stdin,
}

impl Input {
    pub fn from_arg(arg: &str) -> Input {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::Path(PathBuf::from(arg))
        }
    }
}

/// A file to load, found by [`discover`].
#[derive(Clone, Debug)]
pub struct Source {
    /// The path as the user wrote it, joined with the names found below it.
    pub name: Arc<str>,
    pub origin: Origin,
    /// Size in bytes, for progress reporting.
    pub size: u64,
}

#[derive(Clone, Debug)]
pub enum Origin {
    File(PathBuf),
    Stdin,
}

/// Everything loaded, in a deterministic order: by input argument, then file
/// path (byte order), then position in the file.
#[derive(Debug, Default)]
pub struct Loaded {
    pub objects: Vec<Object>,
    pub diagnostics: Vec<Diagnostic>,
    pub files: usize,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

const EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

/// Expand inputs into the files to read. Directories are walked recursively
/// in sorted order, hidden directories included and `.git` skipped; symbolic
/// links are followed, each directory and file read once, so link loops end.
/// In a directory only regular files are read: a device, FIFO or socket (or
/// a link to one) named like a manifest is skipped with a warning, as is a
/// dangling link so named. A file named as an input is read whatever it is,
/// within the size limits ([`Limits`]).
pub fn discover(inputs: &[Input]) -> (Vec<Source>, Vec<Diagnostic>) {
    let mut sources = Vec::new();
    let mut diagnostics = Vec::new();
    let mut seen_dirs = HashSet::new();
    let mut seen_files = HashSet::new();
    for input in inputs {
        match input {
            Input::Stdin => sources.push(Source {
                name: "<stdin>".into(),
                origin: Origin::Stdin,
                size: 0,
            }),
            Input::Path(path) => match fs::metadata(path) {
                Err(e) => diagnostics.push(Diagnostic::file_error(
                    &path.to_string_lossy(),
                    format!("cannot read: {}", io_reason(&e)),
                )),
                Ok(meta) if meta.is_dir() => {
                    let mut found = Vec::new();
                    let root = (path.clone(), identity(&meta));
                    walk(root, &mut seen_dirs, &mut found, &mut diagnostics);
                    // Sorted by path, as `find | sort` lists them; a file
                    // reached by two names is read under the first.
                    found.sort_by(|a, b| a.0.cmp(&b.0));
                    for (path, size, id) in found {
                        if seen_files.insert(id) {
                            sources.push(file_source(&path, size));
                        }
                    }
                }
                // A file named explicitly is read whatever its extension.
                Ok(meta) => {
                    if seen_files.insert(identity(&meta)) {
                        sources.push(file_source(path, meta.len()));
                    }
                }
            },
        }
    }
    (sources, diagnostics)
}

/// A file's identity: two names (links) of one file have the same.
type Identity = (u64, u64);

fn identity(meta: &fs::Metadata) -> Identity {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

fn walk(
    root: (PathBuf, Identity),
    seen_dirs: &mut HashSet<Identity>,
    found: &mut Vec<(PathBuf, u64, Identity)>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut pending = vec![root];
    while let Some((dir, id)) = pending.pop() {
        if !seen_dirs.insert(id) {
            continue;
        }
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                diagnostics.push(Diagnostic::file_error(
                    &dir.to_string_lossy(),
                    format!("cannot read directory: {}", io_reason(&e)),
                ));
                continue;
            }
        };
        let mut subdirs = Vec::new();
        for path in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
            // fs::metadata follows links.
            let meta = match fs::metadata(&path) {
                Ok(meta) => meta,
                Err(e) => {
                    let dangling = e.kind() == std::io::ErrorKind::NotFound
                        && fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink());
                    if !dangling {
                        diagnostics.push(Diagnostic::file_error(
                            &path.to_string_lossy(),
                            format!("cannot read: {}", io_reason(&e)),
                        ));
                    } else if has_manifest_extension(&path) {
                        // A link to a file that is gone: nothing to read.
                        diagnostics.push(Diagnostic::warning(
                            &Arc::from(path.to_string_lossy()),
                            None,
                            "skipped: a symbolic link to a missing file".into(),
                        ));
                    }
                    continue;
                }
            };
            if meta.is_dir() {
                if path.file_name().is_some_and(|n| n != ".git") {
                    subdirs.push((path, identity(&meta)));
                }
            } else if has_manifest_extension(&path) {
                if meta.is_file() {
                    found.push((path, meta.len(), identity(&meta)));
                } else {
                    // A device, FIFO or socket (or a link to one) may never
                    // end or may block: only named ones are read.
                    diagnostics.push(Diagnostic::warning(
                        &Arc::from(path.to_string_lossy()),
                        None,
                        format!("skipped: not a regular file ({})", file_type(&meta)),
                    ));
                }
            }
        }
        pending.extend(subdirs);
    }
}

/// What a file that is not regular is, in a few words.
fn file_type(meta: &fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    }
}

fn has_manifest_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

fn file_source(path: &Path, size: u64) -> Source {
    Source {
        name: path.to_string_lossy().into(),
        origin: Origin::File(path.to_path_buf()),
        size,
    }
}

fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    // "No such file or directory (os error 2)" reads better without the code.
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Load every source in parallel. `progress` is called with the number of
/// bytes finished, as they finish.
pub fn load_sources(
    sources: &[Source],
    limits: &Limits,
    progress: &(dyn Fn(u64) + Sync),
) -> Loaded {
    let per_file: Vec<(Vec<Object>, Vec<Diagnostic>)> = sources
        .par_iter()
        .map(|source| load_source(source, limits, progress))
        .collect();
    let mut loaded = Loaded {
        files: sources.len(),
        ..Loaded::default()
    };
    for (objects, diagnostics) in per_file {
        loaded.objects.extend(objects);
        loaded.diagnostics.extend(diagnostics);
    }
    loaded
}

/// Discover and load in one step.
pub fn load(inputs: &[Input], limits: &Limits) -> Loaded {
    let (sources, mut diagnostics) = discover(inputs);
    let mut loaded = load_sources(&sources, limits, &|_| {});
    diagnostics.append(&mut loaded.diagnostics);
    loaded.diagnostics = diagnostics;
    loaded
}

fn load_source(
    source: &Source,
    limits: &Limits,
    progress: &(dyn Fn(u64) + Sync),
) -> (Vec<Object>, Vec<Diagnostic>) {
    let cannot_read = |e: std::io::Error| {
        Diagnostic::file_error(&source.name, format!("cannot read: {}", io_reason(&e)))
    };
    match &source.origin {
        Origin::File(path) => {
            if source.size > limits.max_file_size {
                return (Vec::new(), vec![too_big(&source.name, source.size, limits)]);
            }
            match fs::File::open(path) {
                Ok(file) => load_stream(&source.name, file, limits, progress),
                Err(e) => (Vec::new(), vec![cannot_read(e)]),
            }
        }
        Origin::Stdin => load_stream(&source.name, std::io::stdin().lock(), limits, progress),
    }
}

fn too_big(name: &str, size: u64, limits: &Limits) -> Diagnostic {
    Diagnostic::file_error(
        name,
        format!(
            "file is {size} bytes, over the {} byte limit (--max-file-size)",
            limits.max_file_size
        ),
    )
}

/// Load the objects in one file's contents.
pub fn load_bytes(
    name: &Arc<str>,
    bytes: &[u8],
    limits: &Limits,
    progress: &(dyn Fn(u64) + Sync),
) -> (Vec<Object>, Vec<Diagnostic>) {
    load_stream(name, bytes, limits, progress)
}

/// Bytes read at a time. A larger input is parsed a batch of whole documents
/// at a time, so it is never held in memory all at once.
const BATCH: usize = 16 << 20;

fn load_stream(
    name: &Arc<str>,
    mut reader: impl Read,
    limits: &Limits,
    progress: &(dyn Fn(u64) + Sync),
) -> (Vec<Object>, Vec<Diagnostic>) {
    let mut stream = Stream {
        name,
        limits,
        objects: Vec::new(),
        diagnostics: Vec::new(),
        documents: 0,
        next_line: 1,
        notes_kept: 0,
        notes_dropped: 0,
    };
    let mut buffer = Vec::new();
    let mut total = 0u64;
    let mut file_start = true;
    // Set while the rest of a document over --max-document-size is read
    // past: the buffer never holds much more than one document's limit.
    let mut skipping = false;
    loop {
        let before = buffer.len();
        if let Err(e) = reader.by_ref().take(BATCH as u64).read_to_end(&mut buffer) {
            stream.diagnostics.push(Diagnostic::file_error(
                name,
                format!("cannot read: {}", io_reason(&e)),
            ));
            break;
        }
        let read = buffer.len() - before;
        total += read as u64;
        if total > limits.max_file_size {
            stream.diagnostics.push(too_big(name, total, limits));
            break;
        }
        let end = read < BATCH;
        if let Some(encoding) = file_start.then(|| other_encoding(&buffer)).flatten() {
            stream.diagnostics.push(Diagnostic::error(
                name,
                Some(Pos { line: 1, col: 1 }),
                format!(
                    "file is {encoding}; Kubernetes manifests must be UTF-8 (convert with iconv)"
                ),
            ));
            break;
        }
        if skipping {
            match first_marker(&buffer) {
                Some(cut) => {
                    stream.skip(&buffer[..cut], progress);
                    buffer.drain(..cut);
                    file_start = false;
                    // `skipping` is set anew below, for what follows.
                }
                None if end => break,
                None => {
                    stream.skip_all_but_a_marker(&mut buffer, progress);
                    continue;
                }
            }
        }
        let cut = if end {
            buffer.len()
        } else {
            match last_marker(&buffer) {
                Some(cut) => cut,
                // One document larger than a batch: read on, unless it is
                // over the limit already; then read past it.
                None => {
                    skipping = stream.refuse_oversized(&mut buffer, progress);
                    continue;
                }
            }
        };
        if let Err(diagnostic) = stream.batch(&buffer[..cut], file_start, progress) {
            stream.diagnostics.push(diagnostic);
            break;
        }
        file_start = false;
        buffer.drain(..cut);
        if end {
            break;
        }
        // What is left is the start of a document.
        skipping = stream.refuse_oversized(&mut buffer, progress);
    }
    if stream.notes_dropped > 0 {
        stream.diagnostics.push(Diagnostic::note(
            name,
            None,
            format!(
                "{} more notes not listed: documents or items skipped as not Kubernetes objects ({} are listed)",
                stream.notes_dropped, stream.notes_kept
            ),
        ));
    }
    (stream.objects, stream.diagnostics)
}

/// Notes (documents skipped as not Kubernetes objects) kept per document,
/// and per file (then with those of the document that reaches it); the rest
/// are counted. Notes are printed only with `--verbose`,
/// and a stream of a million kindless documents must not hold a million.
const MAX_NOTES: usize = 100;

/// Whether a `---` document marker line starts at byte `at` of `bytes`
/// (which [`lines::starts_line`]).
fn marker_at(bytes: &[u8], at: usize) -> bool {
    bytes[at..].starts_with(b"---")
        && matches!(bytes.get(at + 3), Some(b'\n' | b'\r' | b' ' | b'\t'))
}

/// The start of the first `---` marker line in `bytes` past its start.
fn first_marker(bytes: &[u8]) -> Option<usize> {
    (1..bytes.len())
        .find(|&at| bytes[at] == b'-' && lines::starts_line(bytes, at) && marker_at(bytes, at))
}

/// The start of the last `---` marker line in `bytes`, if past the start.
fn last_marker(bytes: &[u8]) -> Option<usize> {
    (1..bytes.len())
        .rev()
        .find(|&at| bytes[at] == b'-' && lines::starts_line(bytes, at) && marker_at(bytes, at))
}

/// Documents parsed in parallel at a time.
const WINDOW: usize = 4096;

/// What one input has yielded so far.
struct Stream<'a> {
    name: &'a Arc<str>,
    limits: &'a Limits,
    objects: Vec<Object>,
    diagnostics: Vec<Diagnostic>,
    documents: u32,
    next_line: u32,
    /// Notes kept, and notes met past those.
    notes_kept: usize,
    notes_dropped: usize,
}

impl Stream<'_> {
    /// A document found over the size limit while it is read.
    fn oversized(&mut self, size: usize) {
        self.diagnostics.push(Diagnostic::error(
            self.name,
            Some(Pos {
                line: self.next_line,
                col: 1,
            }),
            format!(
                "document is more than {size} bytes, over the {} byte limit (--max-document-size)",
                self.limits.max_document_size
            ),
        ));
        self.documents += 1;
    }

    /// If `buffer`, the start of a document with no marker after it, is over
    /// the size limit already, report it and pass over what is read of it:
    /// returns whether the rest is to be passed over.
    fn refuse_oversized(&mut self, buffer: &mut Vec<u8>, progress: &(dyn Fn(u64) + Sync)) -> bool {
        if buffer.len() <= self.limits.max_document_size || first_marker(buffer).is_some() {
            return false;
        }
        self.oversized(buffer.len());
        self.skip_all_but_a_marker(buffer, progress);
        true
    }

    /// Pass over the bytes of a document over the size limit that hold no
    /// marker, but for the last few, where a marker may begin.
    fn skip_all_but_a_marker(&mut self, buffer: &mut Vec<u8>, progress: &(dyn Fn(u64) + Sync)) {
        let mut keep = buffer.len().saturating_sub(4);
        // A CR LF is one line break: it is not cut in two.
        if keep > 0 && buffer[keep - 1] == b'\r' {
            keep -= 1;
        }
        self.skip(&buffer[..keep], progress);
        buffer.drain(..keep);
    }

    /// Pass over bytes of a document over the size limit.
    fn skip(&mut self, bytes: &[u8], progress: &(dyn Fn(u64) + Sync)) {
        self.next_line += lines::count_breaks(bytes) as u32;
        progress(bytes.len() as u64);
    }

    /// Parse a batch of whole documents; an error stops the input.
    fn batch(
        &mut self,
        bytes: &[u8],
        first: bool,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<(), Diagnostic> {
        let text = decode_text(bytes, first).map_err(|(mut pos, message)| {
            pos.line += self.next_line - 1;
            Diagnostic::error(self.name, Some(pos), message)
        })?;
        let line_offset = self.next_line - 1;
        // Documents are parsed in parallel a window at a time, so what a
        // batch of many small documents holds besides its objects (chunks,
        // notes) stays bounded.
        let mut chunks = document_chunks(text);
        loop {
            let window: Vec<Chunk<'_>> = chunks.by_ref().take(WINDOW).collect();
            if window.is_empty() {
                break;
            }
            let parsed: Vec<(Vec<Object>, Vec<Diagnostic>, usize)> = window
                .par_iter()
                .map(|chunk| {
                    let chunk = Chunk {
                        first_line: chunk.first_line + line_offset,
                        ..*chunk
                    };
                    let result = load_chunk(self.name, &chunk, self.limits);
                    progress(chunk.text.len() as u64);
                    result
                })
                .collect();
            self.merge(parsed);
        }
        self.next_line += lines::count_breaks(bytes) as u32;
        Ok(())
    }

    /// Take in the documents of a window, in order.
    fn merge(&mut self, parsed: Vec<(Vec<Object>, Vec<Diagnostic>, usize)>) {
        for (mut objects, diagnostics, documents) in parsed {
            for object in &mut objects {
                object.document += self.documents;
            }
            self.documents += documents as u32;
            self.objects.append(&mut objects);
            // A document's notes are kept whole (it bounds them itself) or
            // not at all, once this file has kept its share.
            let keep = self.notes_kept < MAX_NOTES;
            for diagnostic in diagnostics {
                if diagnostic.severity == Severity::Note {
                    if !keep {
                        self.notes_dropped += 1;
                        continue;
                    }
                    self.notes_kept += 1;
                }
                self.diagnostics.push(diagnostic);
            }
        }
    }
}

/// UTF-8 text without its byte-order mark (at the start of a file), or
/// where the first invalid byte is.
/// (A file in UTF-16 or UTF-32 is refused before, by [`other_encoding`].)
fn decode_text(bytes: &[u8], file_start: bool) -> Result<&str, (Pos, String)> {
    let bytes = match file_start {
        true => bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes),
        false => bytes,
    };
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
        (
            position_at(valid, valid.len()),
            format!(
                "invalid UTF-8 (byte 0x{:02X}); manifests must be UTF-8",
                bytes[e.valid_up_to()]
            ),
        )
    })
}

/// The encoding that a file's byte-order mark names, other than UTF-8.
fn other_encoding(start: &[u8]) -> Option<&'static str> {
    // UTF-32's little-endian mark begins with UTF-16's: it is tested first.
    if start.starts_with(&[0x00, 0x00, 0xFE, 0xFF]) || start.starts_with(&[0xFF, 0xFE, 0x00, 0x00])
    {
        Some("UTF-32")
    } else if start.starts_with(&[0xFF, 0xFE]) || start.starts_with(&[0xFE, 0xFF]) {
        Some("UTF-16")
    } else {
        None
    }
}

/// The 1-based line and character column of byte `offset` in `text`.
fn position_at(text: &str, offset: usize) -> Pos {
    lines::position_at(text, offset)
}

#[derive(Clone, Copy)]
struct Chunk<'a> {
    text: &'a str,
    first_line: u32,
}

/// Cut a stream at its `---` document markers. Directives and comments before
/// a marker stay with the document the marker opens.
fn split_documents(text: &str) -> Vec<Chunk<'_>> {
    document_chunks(text).collect()
}

/// [`split_documents`], one chunk at a time.
fn document_chunks(text: &str) -> impl Iterator<Item = Chunk<'_>> {
    let mut numbered = (1u32..).zip(lines::split_inclusive(text));
    let mut start = 0;
    let mut start_line = 1u32;
    let mut only_preamble = true;
    let mut offset = 0;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        for (line, raw) in numbered.by_ref() {
            let content = lines::content(raw);
            let is_marker = content.starts_with("---")
                && matches!(content.as_bytes().get(3), None | Some(b' ' | b'\t'));
            let at = offset;
            offset += raw.len();
            if is_marker && !only_preamble {
                let chunk = Chunk {
                    text: &text[start..at],
                    first_line: start_line,
                };
                start = at;
                start_line = line;
                return Some(chunk);
            }
            if is_marker {
                only_preamble = false;
            } else if only_preamble {
                let trimmed = content.trim_start();
                only_preamble = trimmed.is_empty() || trimmed.starts_with(['#', '%']);
            }
        }
        done = true;
        Some(Chunk {
            text: &text[start..],
            first_line: start_line,
        })
    })
}

/// The offset of a line that kubectl's document reader
/// (apimachinery's `YAMLReader`) takes for a separator and YAML does not:
/// `---` followed by `#` or by spaces YAML does not count (`---#`, `---`
/// and a no-break space). kubectl splits its lines at `\n` only.
fn kubectl_only_separator(text: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split('\n') {
        let at = offset;
        offset += line.len() + 1;
        let Some(rest) = line.strip_prefix("---") else {
            continue;
        };
        let trimmed = rest.trim();
        let kubectl = trimmed.is_empty() || trimmed.starts_with('#');
        let yaml = rest.is_empty() || rest.starts_with([' ', '\t', '\r']);
        if kubectl && !yaml {
            return Some(at);
        }
    }
    None
}

/// Parse one chunk: its objects (document indexes relative to the chunk), its
/// diagnostics, and how many documents it held.
fn load_chunk(
    name: &Arc<str>,
    chunk: &Chunk<'_>,
    limits: &Limits,
) -> (Vec<Object>, Vec<Diagnostic>, usize) {
    let chunk_start = Some(Pos {
        line: chunk.first_line,
        col: 1,
    });
    if chunk.text.len() > limits.max_document_size {
        let diagnostic = Diagnostic::error(
            name,
            chunk_start,
            format!(
                "document is {} bytes, over the {} byte limit (--max-document-size)",
                chunk.text.len(),
                limits.max_document_size
            ),
        );
        return (Vec::new(), vec![diagnostic], 1);
    }
    if let Some(nul) = chunk.text.find('\0') {
        let mut pos = position_at(chunk.text, nul);
        pos.line += chunk.first_line - 1;
        let diagnostic = Diagnostic::error(
            name,
            Some(pos),
            "NUL byte in the document; this is not a text manifest".into(),
        );
        return (Vec::new(), vec![diagnostic], 1);
    }

    if let Some((at, name_of_break)) = lines::yaml11_break(chunk.text) {
        let mut pos = position_at(chunk.text, at);
        pos.line += chunk.first_line - 1;
        let mut diagnostic = Diagnostic::error(
            name,
            Some(pos),
            format!(
                "{name_of_break} in the document: kubectl's YAML 1.1 parser (go-yaml) ends a line there, YAML 1.2 does not, so the document is not read (it could hide fields from the scan)"
            ),
        );
        diagnostic.hint =
            Some("replace the character with a line break (\\n) or a space, as was meant".into());
        return (Vec::new(), vec![diagnostic], 1);
    }

    if let Some(at) = kubectl_only_separator(chunk.text) {
        let mut pos = position_at(chunk.text, at);
        pos.line += chunk.first_line - 1;
        let mut diagnostic = Diagnostic::error(
            name,
            Some(pos),
            "kubectl's reader ends a document at this `---` line and YAML does not, so the two read different objects; the document is not read (it could hide an object from the scan)".into(),
        );
        diagnostic.hint = Some(
            "put a space or a line break after `---` if a new document is meant, or do not start the line with `---`".into(),
        );
        return (Vec::new(), vec![diagnostic], 1);
    }

    let ParseOutput { documents, issues } = match blanked_crd(chunk, limits) {
        Some(root) => ParseOutput {
            documents: vec![Document { root: Some(root) }],
            issues: Vec::new(),
        },
        None => parse_text(chunk.text, chunk.first_line, limits),
    };
    let mut diagnostics: Vec<Diagnostic> = issues
        .into_iter()
        .map(|issue| {
            let severity = if issue.fatal {
                Severity::Error
            } else {
                Severity::Warning
            };
            let mut d = Diagnostic::new(severity, name, Some(issue.pos), issue.message);
            if issue.fatal && chunk.text.contains("{{") {
                d.hint = Some(
                    "this looks like an unrendered Helm template; render it first and pipe it in: helm template RELEASE CHART | corral <command> -".into(),
                );
            }
            d
        })
        .collect();
    // A chunk whose parse failed still counts as one document.
    let failed = diagnostics.iter().any(|d| d.severity == Severity::Error);
    let count = documents.len() + usize::from(failed && documents.is_empty());

    let mut objects = Vec::new();
    let mut notes = 0;
    for (index, document) in documents.into_iter().enumerate() {
        let Some(root) = document.root else { continue };
        collect_objects_noting(
            name,
            index as u32,
            root,
            None,
            &mut objects,
            &mut Notes {
                diagnostics: &mut diagnostics,
                count: &mut notes,
            },
        );
    }
    if notes > MAX_NOTES {
        diagnostics.push(Diagnostic::note(
            name,
            chunk_start,
            format!(
                "{} more items of this document skipped as not Kubernetes objects, not listed",
                notes - MAX_NOTES
            ),
        ));
    }
    (objects, diagnostics, count)
}

/// The type a `*List` implies for items that omit `kind`/`apiVersion`, as the
/// API server's list responses do (`PodList` items are Pods).
struct ItemType<'a> {
    api_version: &'a str,
    kind: &'a str,
}

/// Notes of one chunk: the first [`MAX_NOTES`] are kept, the rest counted.
struct Notes<'a> {
    diagnostics: &'a mut Vec<Diagnostic>,
    count: &'a mut usize,
}

impl Notes<'_> {
    fn push(&mut self, note: impl FnOnce() -> Diagnostic) {
        *self.count += 1;
        if *self.count <= MAX_NOTES {
            self.diagnostics.push(note());
        }
    }
}

/// [`collect_objects_noting`] for a document alone (tests and the
/// blanking check).
fn collect_objects(
    name: &Arc<str>,
    document: u32,
    root: Node,
    implied: Option<&ItemType<'_>>,
    objects: &mut Vec<Object>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut count = 0;
    let mut notes = Notes {
        diagnostics,
        count: &mut count,
    };
    collect_objects_noting(name, document, root, implied, objects, &mut notes);
}

fn collect_objects_noting(
    name: &Arc<str>,
    document: u32,
    root: Node,
    implied: Option<&ItemType<'_>>,
    objects: &mut Vec<Object>,
    notes: &mut Notes<'_>,
) {
    if root.is_null() {
        return;
    }
    if let Value::Seq(items) = root.value {
        for item in items {
            collect_objects_noting(name, document, item, implied, objects, notes);
        }
        return;
    }
    if root.entries().is_none() {
        notes.push(|| {
            Diagnostic::note(
                name,
                Some(root.pos),
                "skipped: the document is not a mapping, so not a Kubernetes object".into(),
            )
        });
        return;
    }
    let kind = root.get("kind").and_then(Node::as_str).map(str::to_string);
    let api_version = root
        .get("apiVersion")
        .and_then(Node::as_str)
        .map(str::to_string);
    let (kind, api_version) = match (kind, api_version, implied) {
        (Some(k), Some(v), _) => (k, v),
        (k, v, Some(implied)) => (
            k.unwrap_or_else(|| implied.kind.to_string()),
            v.unwrap_or_else(|| implied.api_version.to_string()),
        ),
        (k, v, None) => {
            let missing = match (k, v) {
                (None, None) => "apiVersion and kind",
                (None, _) => "kind",
                _ => "apiVersion",
            };
            notes.push(|| {
                Diagnostic::note(
                    name,
                    Some(root.pos),
                    format!(
                        "skipped: the document has no {missing}, so is not a Kubernetes object"
                    ),
                )
            });
            return;
        }
    };
    // kubectl reads any object with an `items` field as a list, whatever
    // its kind, and applies the items, not the object.
    let is_list = root.get("items").is_some();
    if is_list {
        let item_kind = kind.strip_suffix("List").unwrap_or_default();
        let item_type = ItemType {
            api_version: &api_version,
            // `kind: List` items carry their own type.
            kind: item_kind,
        };
        let implied = (!item_kind.is_empty()).then_some(&item_type);
        let Value::Map(entries) = root.value else {
            return;
        };
        for entry in entries {
            if &*entry.key == "items" {
                collect_objects_noting(name, document, entry.value, implied, objects, notes);
            }
        }
        return;
    }
    let mut root = root;
    if kind == "CustomResourceDefinition" && api_version.starts_with("apiextensions.k8s.io/") {
        drop_crd_schemas(&mut root);
    }
    objects.push(Object::new(name.clone(), document, kind, api_version, root));
}

/// A chunk's documents: by the fast parser where it answers, else by
/// saphyr-parser.
fn parse_text(text: &str, first_line: u32, limits: &Limits) -> ParseOutput {
    match fast::parse_document(text, first_line, limits.max_depth) {
        Some(doc) => ParseOutput {
            documents: match doc.count {
                0 => Vec::new(),
                _ => vec![Document { root: doc.root }],
            },
            issues: Vec::new(),
        },
        None => parse_stream(text, first_line, limits),
    }
}

/// A CustomResourceDefinition's tree parsed with its schemas' lines blanked,
/// so they are not parsed only to be dropped ([`drop_crd_schemas`]); `None`
/// (parse the chunk whole) unless blanking provably changed nothing else:
/// the blanked text is one block-style document that the fast parser takes
/// (no flow collection, quoted scalar or alias spans lines, no duplicate
/// key, no tag, no `...`), its root is a CustomResourceDefinition by the
/// values that are analysed, and every key whose block was blanked is
/// `spec.validation` or a `spec.versions[]` item's `schema`, now empty. A
/// block-style key's more-indented lines are its value and nothing else,
/// so the rest of the tree is the one parsing the whole chunk gives.
fn blanked_crd(chunk: &Chunk<'_>, limits: &Limits) -> Option<Node> {
    let (text, keys) = blank_crd_schemas(chunk.text, chunk.first_line)?;
    let doc = fast::parse_document(&text, chunk.first_line, limits.max_depth)?;
    let root = doc.root.filter(|_| doc.count == 1)?;
    let is_crd = root.get("kind").and_then(Node::as_str) == Some("CustomResourceDefinition")
        && root
            .get("apiVersion")
            .and_then(Node::as_str)
            .is_some_and(|v| v.starts_with("apiextensions.k8s.io/"));
    let spec = root.get("spec")?;
    let mut schemas: Vec<&Entry> = spec.entry("validation").into_iter().collect();
    for version in spec
        .get("versions")
        .and_then(Node::items)
        .unwrap_or_default()
    {
        schemas.extend(version.entry("schema"));
    }
    let only_schemas = keys.iter().all(|key| {
        schemas
            .iter()
            .any(|e| e.key_pos == *key && e.value.is_null())
    });
    (is_crd && only_schemas).then_some(root)
}

/// A chunk that looks like a block-style CustomResourceDefinition, with the
/// blocks under its `schema:` and `validation:` keys blanked (line breaks
/// kept, so every other position stays), and those keys' positions; `None`
/// when it does not look like one. Only a guess, which [`blanked_crd`]
/// checks: a block under a key ends at the first line indented no deeper
/// than the key.
fn blank_crd_schemas(text: &str, first_line: u32) -> Option<(String, Vec<Pos>)> {
    let top_level = |line: &str| {
        text.match_indices(line)
            .any(|(at, _)| lines::starts_line(text.as_bytes(), at))
    };
    if !top_level("kind: CustomResourceDefinition")
        || !top_level("apiVersion: apiextensions.k8s.io/")
    {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut keys = Vec::new();
    let mut inside: Option<usize> = None; // the indentation of the key whose block is blanked
    for (line_number, line) in (first_line..).zip(lines::split_inclusive(text)) {
        let content = lines::content(line);
        let indent = content.len() - content.trim_start_matches(' ').len();
        let rest = &content[indent..];
        if let Some(key_indent) = inside {
            if rest.is_empty() || rest.starts_with('#') || indent > key_indent {
                // The line's own break, so lines stay lines; a space keeps
                // a lone CR before it from becoming a CR LF with it.
                let line_break = &line[content.len()..];
                if line_break.starts_with('\n') && out.ends_with('\r') {
                    out.push(' ');
                }
                out.push_str(line_break);
                continue;
            }
            inside = None;
        }
        out.push_str(line);
        // `- schema:` in a list item: the key's column is past the dashes.
        let mut key = rest;
        while let Some(after) = key.strip_prefix('-').filter(|a| a.starts_with(' ')) {
            key = after.trim_start_matches(' ');
        }
        let key_indent = content.len() - key.len();
        let key = key.split(" #").next().unwrap_or_default().trim_end();
        if key == "schema:" || key == "validation:" {
            inside = Some(key_indent);
            keys.push(Pos {
                line: line_number,
                // Only spaces and dashes precede the key: bytes are characters.
                col: key_indent as u32 + 1,
            });
        }
    }
    Some((out, keys))
}

/// A CustomResourceDefinition's OpenAPI schemas (`spec.versions[].schema`,
/// v1beta1's `spec.validation`) are most of its bytes (four fifths of the
/// reference corpus) and no analysis reads them: they are dropped as the
/// object is loaded, so a directory of CRDs costs little memory. The rest of
/// the definition (group, names, scope, versions) is kept.
fn drop_crd_schemas(root: &mut Node) {
    let Value::Map(entries) = &mut root.value else {
        return;
    };
    let Some(spec) = entries.iter_mut().find(|e| &*e.key == "spec") else {
        return;
    };
    let Value::Map(spec) = &mut spec.value.value else {
        return;
    };
    spec.retain(|e| &*e.key != "validation");
    for entry in spec.iter_mut().filter(|e| &*e.key == "versions") {
        let Value::Seq(versions) = &mut entry.value.value else {
            continue;
        };
        for version in versions {
            if let Value::Map(fields) = &mut version.value {
                fields.retain(|e| &*e.key != "schema");
            }
        }
    }
}

/// Parse every document of `text` with both parsers and panic where the fast
/// parser answers with a tree other than saphyr's. Returns how many documents
/// the fast parser took, and how many there were. For tests and fuzzing.
pub(crate) fn check_fast_path(text: &str) -> (usize, usize) {
    let limits = Limits::default();
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let chunks = split_documents(text);
    let mut fast_count = 0;
    for chunk in &chunks {
        let Some(fast) = fast::parse_document(chunk.text, chunk.first_line, limits.max_depth)
        else {
            continue;
        };
        fast_count += 1;
        let reference = parse_stream(chunk.text, chunk.first_line, &limits);
        assert!(
            reference.issues.is_empty(),
            "fast parser accepted what saphyr rejects: {:?}\n{}",
            reference.issues,
            chunk.text
        );
        assert_eq!(fast.count, reference.documents.len(), "{}", chunk.text);
        let reference_root = reference
            .documents
            .into_iter()
            .next()
            .and_then(|d| d.root)
            .filter(|r| !r.is_null());
        assert_eq!(fast.root, reference_root, "{}", chunk.text);
    }
    (fast_count, chunks.len())
}

/// Load every chunk of `text` with CRD schema blanking and without, and
/// panic where the objects differ: blanking may only skip a CRD's schemas.
/// The one difference allowed is that a YAML error or warning inside a
/// blanked schema is not seen (the schema is not read): a warning must be
/// on a blanked line, and an error may only lose a document that blanking
/// found to be a CRD. Returns how many chunks were
/// blanked. For tests and fuzzing.
pub(crate) fn check_crd_blanking(text: &str) -> usize {
    let limits = Limits::default();
    let name: Arc<str> = Arc::from("check.yaml");
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut blanked = 0;
    for chunk in split_documents(text) {
        let Some(root) = blanked_crd(&chunk, &limits) else {
            continue;
        };
        blanked += 1;
        let mut with = Vec::new();
        collect_objects(&name, 0, root, None, &mut with, &mut Vec::new());
        let whole = parse_text(chunk.text, chunk.first_line, &limits);
        // Lines of the chunk that blanking emptied.
        let (blanked_text, _) = blank_crd_schemas(chunk.text, chunk.first_line).unwrap();
        // A last line blanked to nothing is no line of the blanked text.
        let emptied: HashSet<u32> = (chunk.first_line..)
            .zip(
                lines::split(chunk.text)
                    .zip(lines::split(&blanked_text).chain(std::iter::repeat(""))),
            )
            .filter(|(_, (before, after))| before != after)
            .map(|(line, _)| line)
            .collect();
        // A syntax error may be reported past the schema it is in (at the
        // next token saphyr reads); a warning is where its key is.
        let outside: Vec<_> = whole
            .issues
            .iter()
            .filter(|i| !i.fatal && !emptied.contains(&i.pos.line))
            .collect();
        assert!(
            outside.is_empty(),
            "blanking hid {outside:?}\n{}",
            chunk.text
        );
        if whole.issues.iter().any(|i| i.fatal) {
            // The document is lost whole; what blanking kept is a CRD.
            assert!(with.iter().all(|o| o.kind == "CustomResourceDefinition"));
            continue;
        }
        assert_eq!(whole.documents.len(), 1, "{}", chunk.text);
        let mut without = Vec::new();
        for document in whole.documents {
            if let Some(root) = document.root {
                collect_objects(&name, 0, root, None, &mut without, &mut Vec::new());
            }
        }
        let objects = |o: &[Object]| {
            o.iter()
                .map(|o| (o.kind.clone(), o.api_version.clone(), o.root.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(objects(&with), objects(&without), "{}", chunk.text);
    }
    blanked
}

/// Parse a configuration file (YAML or JSON, no `kind` needed): its first
/// document's tree, or `file:line:col: message` for the first error.
pub fn parse_config(name: &str, text: &str, limits: &Limits) -> Result<Option<Node>, String> {
    let output = crate::parse::parse_stream(text, 1, limits);
    if let Some(issue) = output.issues.iter().find(|i| i.fatal) {
        return Err(format!(
            "{name}:{}:{}: {}",
            issue.pos.line, issue.pos.col, issue.message
        ));
    }
    Ok(output.documents.into_iter().find_map(|d| d.root))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of the shared corpus, when it is there.
    fn corpus_texts() -> Vec<String> {
        let corpus =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
        if !corpus.exists() {
            return Vec::new();
        }
        let (sources, _) = discover(&[Input::Path(corpus)]);
        sources
            .iter()
            .filter_map(|source| match &source.origin {
                Origin::File(path) => Some(fs::read_to_string(path).unwrap()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn split_keeps_preamble_with_first_document() {
        let text = "# comment\n%YAML 1.2\n---\na: 1\n---\nb: 2\n--- |\n  text\n----\n";
        let chunks = split_documents(text);
        let starts: Vec<(u32, &str)> = chunks
            .iter()
            .map(|c| (c.first_line, c.text.lines().next().unwrap()))
            .collect();
        assert_eq!(starts, [(1, "# comment"), (5, "---"), (7, "--- |")]);
    }

    /// Where the fast parser answers, its tree must be saphyr's, positions
    /// included. Checked on every document of the shared corpus and of the
    /// benchmark generator's output shape.
    #[test]
    fn fast_parser_agrees_with_saphyr() {
        let mut texts: Vec<String> = vec![
            "a: 1\nb:\n- x\n- {k: v, l: [1, 2]}\n- - nested\n  - seq\nc: 'it''s'\nd: \"q\\\"\\u00e9\" # c\n".into(),
            "---\nlist:\n  - name: a\n    image: b\n  -   name: c\n\n# comment\n  - plain text here\nafter: [ a , b ]\n".into(),
            "x:\n  a:\n\n  # c\nb:\nc: ~\n\"q\":\n- k:\n  l: 1\n".into(),
        ];
        // Wide collections (which were quadratic): the fast parser's keys
        // are hashed past 16 and its columns counted on along a line.
        let wide: Vec<String> = (0..2000).map(|i| format!("é{i}: \"ü{i}\"")).collect();
        texts.push(format!(
            "a: {{{}}}\nb: [{}]\n",
            wide.join(", "),
            wide.join(", ").replace(": ", "-")
        ));
        let block: String = (0..40).map(|i| format!("k{i}: v\n")).collect();
        texts.push(block.clone());
        texts.push(format!("{block}k39: again\n"));
        texts.push(format!(
            "{{{}, k39: again}}\n",
            block.trim_end().replace('\n', ", ")
        ));
        texts.extend(corpus_texts());
        // Lines ended by CR alone or CR LF (YAML 1.2's other line breaks).
        let other_breaks: Vec<String> = texts
            .iter()
            .flat_map(|t| [t.replace('\n', "\r"), t.replace('\n', "\r\n")])
            .collect();
        texts.extend(other_breaks);
        let (mut fast_count, mut total) = (0, 0);
        for text in &texts {
            let (fast, all) = check_fast_path(text);
            fast_count += fast;
            total += all;
        }
        eprintln!("fast parser took {fast_count} of {total} documents");
        assert!(fast_count * 2 > total);
    }

    #[test]
    fn crd_schemas_are_dropped_and_the_rest_kept() {
        let text = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names: {kind: Widget, plural: widgets}\n  validation: {openAPIV3Schema: {type: object}}\n  versions:\n  - name: v1\n    served: true\n    schema:\n      openAPIV3Schema:\n        type: object\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nspec:\n  versions:\n  - schema: kept\n";
        let name: Arc<str> = Arc::from("crd.yaml");
        let (objects, diagnostics) =
            load_bytes(&name, text.as_bytes(), &Limits::default(), &|_| {});
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let crd = &objects[0].root;
        assert_eq!(
            crd.at("spec.group").and_then(Node::as_str),
            Some("example.com")
        );
        assert_eq!(
            crd.at("spec.names.kind").and_then(Node::as_str),
            Some("Widget")
        );
        assert_eq!(
            crd.at("spec.versions[0].name").and_then(Node::as_str),
            Some("v1")
        );
        assert!(crd.at("spec.versions[0].served").is_some());
        assert!(crd.at("spec.versions[0].schema").is_none());
        assert!(crd.at("spec.validation").is_none());
        // Only a CustomResourceDefinition's schemas go.
        let other = &objects[1].root;
        assert_eq!(
            other.at("spec.versions[0].schema").and_then(Node::as_str),
            Some("kept")
        );
    }

    /// Blanking a CRD's schema lines before parsing gives the objects that
    /// parsing it whole and dropping the schemas gives, on every CRD of the
    /// shared corpus.
    #[test]
    fn blanked_crd_schemas_parse_as_dropped_ones() {
        let mut texts = vec![
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  versions:\n  - name: v1\n    schema:\n      openAPIV3Schema:\n        description: |\n          text\n\n          more\n# comment\n        type: object\n    served: true\n  -   schema: # why\n        x: 1\n      name: v2\n".to_string(),
        ];
        texts.extend(corpus_texts());
        let other_breaks: Vec<String> = texts
            .iter()
            .flat_map(|t| [t.replace('\n', "\r"), t.replace('\n', "\r\n")])
            .collect();
        texts.extend(other_breaks);
        let blanked: usize = texts.iter().map(|t| check_crd_blanking(t)).sum();
        eprintln!("{blanked} CRDs blanked");
        assert!(blanked >= 1);
    }

    /// Documents built to look like a CRD to the blanking's line scan while
    /// being something else, or hiding a pod in a CRD's lines: none is
    /// blanked, or blanking changes nothing but the schemas.
    #[test]
    fn blanking_hides_nothing_from_adversarial_documents() {
        const CRD: &str = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n";
        let pod_spec = "spec:\n  containers:\n  - name: c\n    image: x\n    validation:\n      a: 1\n    securityContext:\n      privileged: true\n";
        let cases = [
            // A second document after `...` in the same chunk.
            format!("{CRD}spec:\n  versions:\n  - name: v1\n...\napiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\n{pod_spec}"),
            // Duplicate kind and apiVersion: the last values say Pod.
            format!("{CRD}apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\n{pod_spec}"),
            // A pod whose container has a `schema:` key over its securityContext.
            format!("{CRD}apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: c\n    schema:\n     securityContext:\n      privileged: true\n"),
            // A flow mapping whose blanked line closes `spec` and reopens it.
            "{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, spec: {\n  validation:\n     }, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c, image: x, securityContext: {privileged: true}}]\n  }}\n".to_string(),
            // The CRD lines inside a block scalar of a pod.
            format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    x: |\n{}\n{pod_spec}", CRD.lines().map(|l| format!("      {l}")).collect::<Vec<_>>().join("\n")),
            // A CRD whose `schema:` is not where a schema is.
            format!("{CRD}spec:\n  names:\n    schema:\n      kind: Pod\n  versions:\n  - name: v1\n"),
            // An anchor defined inside a schema and used outside it.
            format!("{CRD}spec:\n  versions:\n  - name: v1\n    schema:\n      x: &a {{privileged: true}}\n  group: *a\n"),
            // A warning on the last line, which blanking empties (found by
            // the crd_blanking fuzz target).
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\napiVersion:c:\n  containeiiii/iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiid: Pod\nmetadata: {name: q}\nspec:\n  validation:\n    c  containers: [{name: c, image: c, image: x, securityContext: ;privileged+ true}}]\t".to_string(),
            // A tab-indented line in a schema, and a quoted scalar leaving it.
            format!("{CRD}spec:\n  versions:\n  - name: v1\n    schema:\n      description: \"a\n    served: true\"\n"),
        ];
        let limits = Limits::default();
        let name: Arc<str> = Arc::from("x.yaml");
        for (i, text) in cases.iter().enumerate() {
            check_crd_blanking(text);
            // Whatever was loaded says what a whole parse says about pods.
            let (objects, _) = load_bytes(&name, text.as_bytes(), &limits, &|_| {});
            let whole: Vec<_> = split_documents(text)
                .iter()
                .flat_map(|c| parse_text(c.text, c.first_line, &limits).documents)
                .filter_map(|d| d.root)
                .collect();
            let privileged = |root: &Node| format!("{root:?}").contains("privileged");
            let pods_whole = whole
                .iter()
                .filter(|r| r.get("kind").and_then(Node::as_str) == Some("Pod"))
                .filter(|r| privileged(r))
                .count();
            let pods_loaded = objects
                .iter()
                .filter(|o| o.kind == "Pod" && privileged(&o.root))
                .count();
            assert_eq!(pods_loaded, pods_whole, "case {i}:\n{text}");
        }
        // The genuine case still blanks.
        let genuine = format!("{CRD}metadata:\n  name: w\nspec:\n  versions:\n  - name: v1\n    schema:\n      openAPIV3Schema:\n        type: object\n");
        assert_eq!(check_crd_blanking(&genuine), 1);
    }

    #[test]
    fn position_counts_characters() {
        assert_eq!(position_at("ab\nçd", 5), Pos { line: 2, col: 2 });
        assert_eq!(position_at("ab\rçd", 5), Pos { line: 2, col: 2 });
    }

    /// Documents are cut at `---` lines after any line break, and a batch
    /// cut counts lines as the parser does.
    #[test]
    fn markers_follow_any_line_break() {
        let text = "a: 1\r---\rb: 2\r\n---\r\nc: 3\n---\nd: 4\n";
        let starts: Vec<u32> = split_documents(text).iter().map(|c| c.first_line).collect();
        assert_eq!(starts, [1, 2, 4, 6]);
        let bytes = text.as_bytes();
        assert_eq!(first_marker(bytes), Some(5));
        assert_eq!(last_marker(bytes), Some(text.rfind("---").unwrap()));
        assert_eq!(first_marker(b"a\r\n---x\n"), None);
    }

    /// A NEL, LS or PS, which kubectl's YAML 1.1 parser breaks lines at and
    /// YAML 1.2 does not, is an error at its place: the document is not
    /// read, whether the break would hide a field (in a comment, after a
    /// plain scalar) or not.
    #[test]
    fn yaml11_line_breaks_refuse_the_document() {
        let name: Arc<str> = Arc::from("nel.yaml");
        for line_break in ['\u{85}', '\u{2028}', '\u{2029}'] {
            let text = format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: ok}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p}} # é{line_break}spec: {{hostPID: true}}\n"
            );
            let (objects, diagnostics) =
                load_bytes(&name, text.as_bytes(), &Limits::default(), &|_| {});
            let names: Vec<_> = objects.iter().map(|o| o.name.as_deref()).collect();
            assert_eq!(names, [Some("ok")]);
            assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
            assert_eq!(diagnostics[0].severity, Severity::Error);
            assert_eq!(diagnostics[0].pos, Some(Pos { line: 7, col: 24 }));
            assert!(
                diagnostics[0].message.contains("U+"),
                "{}",
                diagnostics[0].message
            );
        }
    }
}
