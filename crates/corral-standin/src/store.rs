//! The objects, by resource, with one resourceVersion counter and a
//! bounded history of watch events.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::selector::{FieldSelector, LabelSelector};

/// A resource the server serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    /// The API group; empty for the core group.
    pub group: String,
    pub version: String,
    /// The plural, as in the URL (`pods`).
    pub plural: String,
    pub kind: String,
    pub namespaced: bool,
    /// Whether it has the `/status` subresource: writes to the resource
    /// then leave `.status` alone, and writes to `/status` change nothing
    /// else.
    pub status: bool,
}

impl Resource {
    pub fn new(group: &str, version: &str, kind: &str, plural: &str, namespaced: bool) -> Self {
        Resource {
            group: group.into(),
            version: version.into(),
            plural: plural.into(),
            kind: kind.into(),
            namespaced,
            status: false,
        }
    }

    /// The same, with the `/status` subresource.
    pub fn with_status(mut self) -> Self {
        self.status = true;
        self
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `plural` or `plural.group`, as kubectl names it: the key of the
    /// resource in the handle's calls and in the statistics.
    pub fn name(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

/// An API error, as a `Status` object says it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub code: u16,
    pub reason: String,
    pub message: String,
}

impl Status {
    pub fn new(code: u16, reason: &str, message: impl Into<String>) -> Self {
        Status {
            code,
            reason: reason.into(),
            message: message.into(),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": self.message, "reason": self.reason, "code": self.code})
    }

    fn not_found(resource: &Resource, name: &str) -> Self {
        Status::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", resource.name()),
        )
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Status::new(422, "Invalid", message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Status::new(400, "BadRequest", message)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for Status {}

/// One stored object.
#[derive(Clone)]
pub(crate) struct Stored {
    /// The object, JSON, with apiVersion and kind.
    pub json: Bytes,
    pub labels: BTreeMap<String, String>,
    pub uid: String,
    pub owners: Vec<String>,
}

impl Stored {
    fn value(&self) -> Value {
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

/// One change, as watches see it.
pub(crate) struct Event {
    pub rv: u64,
    pub resource: String,
    pub kind: EventType,
    pub namespace: String,
    pub name: String,
    pub json: Bytes,
    pub labels: BTreeMap<String, String>,
    /// The labels before a modification (a watch with a label selector
    /// sees an object leave or enter it as DELETED or ADDED).
    pub old_labels: Option<BTreeMap<String, String>>,
}

/// How a patch reads its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchKind {
    /// Server-side apply: the applied fields merged over the object
    /// (objects merged recursively, every other value, lists included,
    /// replaced); the object is created when missing.
    Apply,
    /// RFC 7386 JSON merge patch (strategic merge patches are read as
    /// this too).
    Merge,
}

/// What a list returns.
pub(crate) struct Listed {
    pub items: Vec<Bytes>,
    pub rv: u64,
    pub next: Option<String>,
}

/// A resource's recent events.
#[derive(Default)]
pub(crate) struct History {
    pub events: VecDeque<Event>,
    /// A watch from a resourceVersion below this one has lost events.
    pub floor: u64,
}

impl History {
    /// The events after `rv`, or `None` when some are gone.
    pub fn after(&self, rv: u64) -> Option<impl Iterator<Item = &Event>> {
        if rv < self.floor {
            return None;
        }
        let start = self.events.partition_point(|e| e.rv <= rv);
        Some(self.events.range(start..))
    }
}

pub(crate) struct Store {
    pub resources: BTreeMap<String, Resource>,
    objects: HashMap<String, BTreeMap<(String, String), Stored>>,
    /// uid → where the object is.
    uids: HashMap<String, (String, String, String)>,
    /// owner uid → its dependents' uids.
    dependents: HashMap<String, BTreeSet<String>>,
    pub rv: u64,
    /// Each resource's recent events, as the API server's watch cache
    /// keeps them per resource.
    pub history: HashMap<String, History>,
    history_cap: usize,
    next_uid: u64,
    next_name: u64,
}

/// The key of a resource in the store: `group/version/plural`.
pub(crate) fn key(group: &str, version: &str, plural: &str) -> String {
    format!("{group}/{version}/{plural}")
}

fn labels_of(object: &Value) -> BTreeMap<String, String> {
    object["metadata"]["labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn owners_of(object: &Value) -> Vec<String> {
    object["metadata"]["ownerReferences"]
        .as_array()
        .map(|refs| {
            refs.iter()
                .filter_map(|r| Some(r["uid"].as_str()?.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// RFC 3339 UTC of now, to the second.
pub(crate) fn now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// RFC 7386: `patch` merged into `target`; null removes.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(fields) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            let Value::Object(map) = target else {
                return;
            };
            for (k, v) in fields {
                if v.is_null() {
                    map.remove(k);
                } else {
                    merge_patch(map.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// Server-side apply, simplified: objects merged recursively, every other
/// value (lists included) replaced by the applied one; an applied null
/// removes the field.
pub fn apply_merge(target: &mut Value, applied: &Value) {
    merge_patch(target, applied)
}

/// Everything of an object but its metadata and status: a change there
/// bumps metadata.generation.
fn spec_part(object: &Value) -> Value {
    let mut part = object.clone();
    if let Some(map) = part.as_object_mut() {
        map.remove("metadata");
        map.remove("status");
    }
    part
}

impl Store {
    pub fn new(resources: Vec<Resource>, history_cap: usize) -> Self {
        let mut store = Store {
            resources: BTreeMap::new(),
            objects: HashMap::new(),
            uids: HashMap::new(),
            dependents: HashMap::new(),
            rv: 1,
            history: HashMap::new(),
            history_cap: history_cap.max(1),
            next_uid: 0,
            next_name: 0,
        };
        for resource in resources {
            store.register(resource);
        }
        store
    }

    pub fn register(&mut self, resource: Resource) {
        let key = key(&resource.group, &resource.version, &resource.plural);
        self.resources.insert(key, resource);
    }

    /// The resource named `plural` or `plural.group`.
    pub fn find(&self, name: &str) -> Option<&Resource> {
        self.resources.values().find(|r| r.name() == name)
    }

    /// The resource of an object's apiVersion and kind.
    pub fn find_kind(&self, api_version: &str, kind: &str) -> Option<&Resource> {
        self.resources
            .values()
            .find(|r| r.api_version() == api_version && r.kind == kind)
    }

    pub fn get(&self, resource: &Resource, namespace: &str, name: &str) -> Option<Bytes> {
        let key = key(&resource.group, &resource.version, &resource.plural);
        self.objects
            .get(&key)?
            .get(&(namespace.to_string(), name.to_string()))
            .map(|s| s.json.clone())
    }

    pub fn count(&self, resource: &Resource) -> usize {
        let key = key(&resource.group, &resource.version, &resource.plural);
        self.objects.get(&key).map_or(0, BTreeMap::len)
    }

    /// A page of the objects of `resource` (in `namespace`, or all),
    /// matching the selectors, after the `continue` token; `limit` 0 for
    /// all.
    pub fn list(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
        limit: usize,
        token: Option<&str>,
    ) -> Result<Listed, Status> {
        let key = key(&resource.group, &resource.version, &resource.plural);
        let (rv, after) = match token {
            Some(token) => {
                let bad = || {
                    Status::new(
                        410,
                        "Expired",
                        format!("continue token {token:?} is not valid"),
                    )
                };
                let (rv, rest) = token.split_once(':').ok_or_else(bad)?;
                let (ns, name) = rest.split_once('/').ok_or_else(bad)?;
                let rv: u64 = rv.parse().map_err(|_| bad())?;
                (rv, Some((ns.to_string(), name.to_string())))
            }
            None => (self.rv, None),
        };
        let empty = BTreeMap::new();
        let objects = self.objects.get(&key).unwrap_or(&empty);
        let start = match (&after, namespace) {
            (Some(after), _) => std::ops::Bound::Excluded(after.clone()),
            (None, Some(ns)) => std::ops::Bound::Included((ns.to_string(), String::new())),
            (None, None) => std::ops::Bound::Unbounded,
        };
        let mut items = Vec::new();
        let mut next = None;
        for ((ns, name), stored) in objects.range((start, std::ops::Bound::Unbounded)) {
            if namespace.is_some_and(|want| want != ns) {
                if namespace.is_some_and(|want| want.as_bytes() < ns.as_bytes()) {
                    break;
                }
                continue;
            }
            if !labels.matches(&stored.labels) || !fields.matches(ns, name, &|| stored.value()) {
                continue;
            }
            if limit > 0 && items.len() == limit {
                // There is more: the last item returned is where the next
                // page starts (what remains is not counted, which would
                // make paging through a large list quadratic).
                next = Some(());
                break;
            }
            items.push(stored.json.clone());
        }
        let next = next.map(|()| {
            let last: Value = serde_json::from_slice(items.last().map_or(&b"{}"[..], |b| &b[..]))
                .unwrap_or(Value::Null);
            format!(
                "{rv}:{}/{}",
                last["metadata"]["namespace"].as_str().unwrap_or(""),
                last["metadata"]["name"].as_str().unwrap_or("")
            )
        });
        Ok(Listed { items, rv, next })
    }

    fn record(&mut self, event: Event) {
        let history = self.history.entry(event.resource.clone()).or_default();
        history.events.push_back(event);
        while history.events.len() > self.history_cap {
            if let Some(gone) = history.events.pop_front() {
                history.floor = gone.rv;
            }
        }
    }

    /// Forget every event so far (as etcd's compaction and an API server
    /// restart do): a watch from any resourceVersion until now is told
    /// 410 Expired.
    pub fn expire(&mut self) {
        self.rv += 1;
        let rv = self.rv;
        for resource in self.resources.keys() {
            let history = self.history.entry(resource.clone()).or_default();
            history.events.clear();
            history.floor = rv;
        }
    }

    /// The history of `resource`.
    pub fn history_of(&self, resource: &Resource) -> Option<&History> {
        self.history
            .get(&key(&resource.group, &resource.version, &resource.plural))
    }

    /// Store `object` (already merged, with its name and namespace) as
    /// the new state of `namespace/name`: resourceVersion, uid,
    /// creationTimestamp and generation set; nothing happens when the
    /// result equals what is stored.
    fn commit(
        &mut self,
        resource: &Resource,
        namespace: &str,
        name: &str,
        mut object: Value,
        old_value: Option<Value>,
    ) -> Result<Bytes, Status> {
        let key = key(&resource.group, &resource.version, &resource.plural);
        let id = (namespace.to_string(), name.to_string());
        let old = self.objects.get(&key).and_then(|m| m.get(&id)).cloned();
        // The caller's reading of the stored object, or ours.
        let old_value = match (&old, old_value) {
            (Some(_), Some(value)) => Some(value),
            (Some(stored), None) => Some(stored.value()),
            (None, _) => None,
        };
        let Some(map) = object.as_object_mut() else {
            return Err(Status::bad_request(format!(
                "{} {name}: the object is not a JSON object",
                resource.kind
            )));
        };
        map.insert("apiVersion".into(), json!(resource.api_version()));
        map.insert("kind".into(), json!(resource.kind));
        if !map.get("metadata").is_some_and(Value::is_object) {
            map.insert("metadata".into(), json!({}));
        }
        let generation;
        {
            let meta = map
                .get_mut("metadata")
                .and_then(Value::as_object_mut)
                .expect("metadata was just made an object");
            meta.insert("name".into(), json!(name));
            if resource.namespaced {
                meta.insert("namespace".into(), json!(namespace));
            } else {
                meta.remove("namespace");
            }
            match &old_value {
                Some(old) => {
                    for field in ["uid", "creationTimestamp", "deletionTimestamp"] {
                        match old["metadata"].get(field) {
                            Some(v) => meta.insert(field.into(), v.clone()),
                            None => meta.remove(field),
                        };
                    }
                    meta.insert(
                        "resourceVersion".into(),
                        old["metadata"]["resourceVersion"].clone(),
                    );
                    generation = old["metadata"]["generation"].as_i64().unwrap_or(1);
                }
                None => {
                    self.next_uid += 1;
                    let n = self.next_uid;
                    meta.insert(
                        "uid".into(),
                        json!(format!(
                            "{:08x}-0000-4000-8000-{:012x}",
                            (n >> 48) as u32,
                            n & 0xffff_ffff_ffff
                        )),
                    );
                    meta.insert("creationTimestamp".into(), json!(now()));
                    meta.remove("resourceVersion");
                    meta.remove("deletionTimestamp");
                    generation = 1;
                }
            }
            meta.insert("generation".into(), json!(generation));
        }
        if let Some(previous) = &old_value {
            if spec_part(previous) != spec_part(&object) {
                object["metadata"]["generation"] = json!(generation + 1);
            }
            if *previous == object {
                return Ok(old.as_ref().map(|o| o.json.clone()).unwrap_or_default());
            }
        }
        // A deleted object whose last finalizer went is gone now.
        let finalizing = object["metadata"].get("deletionTimestamp").is_some()
            && object["metadata"]["finalizers"]
                .as_array()
                .is_none_or(Vec::is_empty);
        self.rv += 1;
        object["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let json = Bytes::from(serde_json::to_vec(&object).unwrap_or_default());
        let stored = Stored {
            json: json.clone(),
            labels: labels_of(&object),
            uid: object["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            owners: owners_of(&object),
        };
        if let Some(old) = &old {
            for owner in &old.owners {
                if let Some(set) = self.dependents.get_mut(owner) {
                    set.remove(&old.uid);
                }
            }
        }
        for owner in &stored.owners {
            self.dependents
                .entry(owner.clone())
                .or_default()
                .insert(stored.uid.clone());
        }
        self.uids.insert(
            stored.uid.clone(),
            (key.clone(), id.0.clone(), id.1.clone()),
        );
        let event = Event {
            rv: self.rv,
            resource: key.clone(),
            kind: if old.is_some() {
                EventType::Modified
            } else {
                EventType::Added
            },
            namespace: id.0.clone(),
            name: id.1.clone(),
            json: json.clone(),
            labels: stored.labels.clone(),
            old_labels: old.as_ref().map(|o| o.labels.clone()),
        };
        self.objects.entry(key).or_default().insert(id, stored);
        self.record(event);
        if finalizing {
            return self.remove(resource, namespace, name);
        }
        Ok(json)
    }

    fn existing(&self, resource: &Resource, namespace: &str, name: &str) -> Result<Value, Status> {
        self.get(resource, namespace, name)
            .map(|b| serde_json::from_slice(&b).unwrap_or(Value::Null))
            .ok_or_else(|| Status::not_found(resource, name))
    }

    /// POST: a new object (its name, or one made from generateName).
    pub fn create(
        &mut self,
        resource: &Resource,
        namespace: &str,
        mut object: Value,
    ) -> Result<Bytes, Status> {
        check_namespace(resource, namespace, &object)?;
        let name = match object["metadata"]["name"].as_str() {
            Some(name) if !name.is_empty() => name.to_string(),
            _ => match object["metadata"]["generateName"].as_str() {
                Some(prefix) => {
                    self.next_name += 1;
                    format!("{prefix}{:05x}", self.next_name)
                }
                None => {
                    return Err(Status::invalid(format!(
                        "{}: metadata.name or metadata.generateName is required",
                        resource.kind
                    )))
                }
            },
        };
        check_name(&name)?;
        if self.get(resource, namespace, &name).is_some() {
            return Err(Status::new(
                409,
                "AlreadyExists",
                format!("{} \"{name}\" already exists", resource.name()),
            ));
        }
        if resource.status {
            if let Some(map) = object.as_object_mut() {
                map.remove("status");
            }
        }
        self.commit(resource, namespace, &name, object, None)
    }

    /// PUT: the object replaced (of its `/status` only with `status`); a
    /// stale metadata.resourceVersion is a conflict.
    pub fn update(
        &mut self,
        resource: &Resource,
        namespace: &str,
        name: &str,
        object: Value,
        status: bool,
    ) -> Result<Bytes, Status> {
        check_namespace(resource, namespace, &object)?;
        if object["metadata"]["name"]
            .as_str()
            .is_some_and(|n| n != name)
        {
            return Err(Status::bad_request(format!(
                "the name of the object ({}) does not match the name in the URL ({name})",
                object["metadata"]["name"]
            )));
        }
        let old = self.existing(resource, namespace, name)?;
        if let Some(rv) = object["metadata"]["resourceVersion"].as_str() {
            if rv
                != old["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or_default()
            {
                return Err(Status::new(
                    409,
                    "Conflict",
                    format!(
                        "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                        resource.name()
                    ),
                ));
            }
        }
        let new = self.with_status_rule(resource, &old, object, status);
        self.commit(resource, namespace, name, new, Some(old))
    }

    /// The `/status` rule: a status write changes only `.status`, a write
    /// to the resource anything but `.status`.
    fn with_status_rule(
        &self,
        resource: &Resource,
        old: &Value,
        mut new: Value,
        status: bool,
    ) -> Value {
        if status {
            let mut kept = old.clone();
            kept["status"] = new["status"].take();
            if kept["status"].is_null() {
                if let Some(map) = kept.as_object_mut() {
                    map.remove("status");
                }
            }
            return kept;
        }
        if resource.status {
            if let Some(map) = new.as_object_mut() {
                match old.get("status") {
                    Some(s) => map.insert("status".into(), s.clone()),
                    None => map.remove("status"),
                };
            }
        }
        new
    }

    /// PATCH; server-side apply creates a missing object. Returns the
    /// object and whether it was created.
    pub fn patch(
        &mut self,
        resource: &Resource,
        namespace: &str,
        name: &str,
        kind: PatchKind,
        patch: Value,
        status: bool,
    ) -> Result<(Bytes, bool), Status> {
        if !patch.is_object() {
            return Err(Status::bad_request(format!(
                "{} {name}: the patch is not a JSON object",
                resource.kind
            )));
        }
        check_namespace(resource, namespace, &patch)?;
        if kind == PatchKind::Apply {
            if patch["metadata"]["name"].as_str() != Some(name) {
                return Err(Status::bad_request(format!(
                    "{} {name}: an applied object must name itself (metadata.name {})",
                    resource.kind, patch["metadata"]["name"]
                )));
            }
            if patch["kind"].as_str() != Some(resource.kind.as_str())
                || patch["apiVersion"].as_str() != Some(resource.api_version().as_str())
            {
                return Err(Status::bad_request(format!(
                    "{name}: an applied object must be of apiVersion {} kind {} (it says {} {})",
                    resource.api_version(),
                    resource.kind,
                    patch["apiVersion"],
                    patch["kind"]
                )));
            }
        }
        let old = match self.existing(resource, namespace, name) {
            Ok(old) => old,
            Err(_) if kind == PatchKind::Apply && !status => {
                check_name(name)?;
                let mut object = json!({});
                apply_merge(&mut object, &patch);
                if resource.status {
                    if let Some(map) = object.as_object_mut() {
                        map.remove("status");
                    }
                }
                return self
                    .commit(resource, namespace, name, object, None)
                    .map(|b| (b, true));
            }
            Err(e) => return Err(e),
        };
        if let Some(rv) = patch["metadata"]["resourceVersion"].as_str() {
            if rv
                != old["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or_default()
            {
                return Err(Status::new(
                    409,
                    "Conflict",
                    format!("Operation cannot be fulfilled on {} \"{name}\": the object has been modified", resource.name()),
                ));
            }
        }
        let mut new = old.clone();
        let mut patch = patch;
        if let Some(meta) = patch["metadata"].as_object_mut() {
            meta.remove("resourceVersion");
        }
        match kind {
            PatchKind::Apply => apply_merge(&mut new, &patch),
            PatchKind::Merge => merge_patch(&mut new, &patch),
        }
        let new = self.with_status_rule(resource, &old, new, status);
        self.commit(resource, namespace, name, new, Some(old))
            .map(|b| (b, false))
    }

    /// PATCH with an RFC 6902 JSON patch (add, remove, replace, move,
    /// copy, test); a failing `test` is a 422.
    pub fn json_patch(
        &mut self,
        resource: &Resource,
        namespace: &str,
        name: &str,
        ops: &Value,
        status: bool,
    ) -> Result<Bytes, Status> {
        let old = self.existing(resource, namespace, name)?;
        let mut new = old.clone();
        apply_json_patch(&mut new, ops)
            .map_err(|e| Status::invalid(format!("{} {name}: {e}", resource.kind)))?;
        let new = self.with_status_rule(resource, &old, new, status);
        self.commit(resource, namespace, name, new, Some(old))
    }

    /// DELETE: an object with finalizers is marked (deletionTimestamp) and
    /// goes when the last is removed; then its dependents (by
    /// ownerReferences) are deleted too.
    pub fn delete(
        &mut self,
        resource: &Resource,
        namespace: &str,
        name: &str,
    ) -> Result<Bytes, Status> {
        let mut old = self.existing(resource, namespace, name)?;
        let finalizers = old["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        if finalizers {
            if old["metadata"].get("deletionTimestamp").is_some() {
                return Ok(self.get(resource, namespace, name).unwrap_or_default());
            }
            old["metadata"]["deletionTimestamp"] = json!(now());
            // commit keeps the old deletionTimestamp: set it here.
            return self.mark_deleted(resource, namespace, name, old);
        }
        self.remove(resource, namespace, name)
    }

    fn mark_deleted(
        &mut self,
        resource: &Resource,
        namespace: &str,
        name: &str,
        object: Value,
    ) -> Result<Bytes, Status> {
        let key = key(&resource.group, &resource.version, &resource.plural);
        let id = (namespace.to_string(), name.to_string());
        let Some(stored) = self.objects.get_mut(&key).and_then(|m| m.get_mut(&id)) else {
            return Err(Status::not_found(resource, name));
        };
        let mut object = object;
        self.rv += 1;
        object["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        stored.json = Bytes::from(serde_json::to_vec(&object).unwrap_or_default());
        let json = stored.json.clone();
        let labels = stored.labels.clone();
        self.record(Event {
            rv: self.rv,
            resource: key,
            kind: EventType::Modified,
            namespace: id.0,
            name: id.1,
            json: json.clone(),
            labels: labels.clone(),
            old_labels: Some(labels),
        });
        Ok(json)
    }

    /// The object gone, and then its dependents, breadth first.
    fn remove(
        &mut self,
        resource: &Resource,
        namespace: &str,
        name: &str,
    ) -> Result<Bytes, Status> {
        let key = key(&resource.group, &resource.version, &resource.plural);
        let id = (namespace.to_string(), name.to_string());
        let stored = self
            .objects
            .get_mut(&key)
            .and_then(|m| m.remove(&id))
            .ok_or_else(|| Status::not_found(resource, name))?;
        self.rv += 1;
        let mut object = stored.value();
        object["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let json = Bytes::from(serde_json::to_vec(&object).unwrap_or_default());
        self.uids.remove(&stored.uid);
        for owner in &stored.owners {
            if let Some(set) = self.dependents.get_mut(owner) {
                set.remove(&stored.uid);
                if set.is_empty() {
                    self.dependents.remove(owner);
                }
            }
        }
        self.record(Event {
            rv: self.rv,
            resource: key,
            kind: EventType::Deleted,
            namespace: id.0,
            name: id.1,
            json: json.clone(),
            labels: stored.labels.clone(),
            old_labels: None,
        });
        // Garbage collection: the dependents, deleted in the background
        // (after the owner's response is decided; a dependent with
        // finalizers is only marked).
        if let Some(dependents) = self.dependents.remove(&stored.uid) {
            for uid in dependents {
                let Some((rkey, ns, n)) = self.uids.get(&uid).cloned() else {
                    continue;
                };
                let Some(r) = self.resources.get(&rkey).cloned() else {
                    continue;
                };
                // Already gone, or failing: nothing to say to the owner's client.
                let _ = self.delete(&r, &ns, &n);
            }
        }
        Ok(json)
    }
}

fn check_namespace(resource: &Resource, namespace: &str, object: &Value) -> Result<(), Status> {
    if !object.is_object() {
        return Err(Status::bad_request(format!(
            "{}: the body is not a JSON object",
            resource.kind
        )));
    }
    if resource.namespaced && namespace.is_empty() {
        return Err(Status::new(
            404,
            "NotFound",
            format!("{} is namespaced: write it in a namespace", resource.name()),
        ));
    }
    if let Some(ns) = object["metadata"]["namespace"].as_str() {
        if resource.namespaced && !ns.is_empty() && ns != namespace {
            return Err(Status::bad_request(format!(
                "the namespace of the object ({ns}) does not match the namespace on the request ({namespace})"
            )));
        }
    }
    Ok(())
}

/// A DNS-1123 subdomain (what most kinds' names must be).
fn check_name(name: &str) -> Result<(), Status> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.' || b == b':'
        })
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(Status::invalid(format!(
            "metadata.name {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
        )))
    }
}

/// The resources served unless told otherwise: the core kinds Corral
/// reads and writes, Leases, Events, and Corral's Recordings (with
/// `/status`).
pub fn default_resources() -> Vec<Resource> {
    let r = Resource::new;
    vec![
        r("", "v1", "Namespace", "namespaces", false).with_status(),
        r("", "v1", "Node", "nodes", false).with_status(),
        r("", "v1", "Pod", "pods", true).with_status(),
        r(
            "",
            "v1",
            "ReplicationController",
            "replicationcontrollers",
            true,
        )
        .with_status(),
        r("", "v1", "ServiceAccount", "serviceaccounts", true),
        r("", "v1", "Service", "services", true).with_status(),
        r("", "v1", "Endpoints", "endpoints", true),
        r("", "v1", "Secret", "secrets", true),
        r("", "v1", "ConfigMap", "configmaps", true),
        r("", "v1", "Event", "events", true),
        r("apps", "v1", "Deployment", "deployments", true).with_status(),
        r("apps", "v1", "DaemonSet", "daemonsets", true).with_status(),
        r("apps", "v1", "StatefulSet", "statefulsets", true).with_status(),
        r("apps", "v1", "ReplicaSet", "replicasets", true).with_status(),
        r("batch", "v1", "Job", "jobs", true).with_status(),
        r("batch", "v1", "CronJob", "cronjobs", true).with_status(),
        r("rbac.authorization.k8s.io", "v1", "Role", "roles", true),
        r(
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
            "rolebindings",
            true,
        ),
        r(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            "clusterroles",
            false,
        ),
        r(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
            false,
        ),
        r(
            "networking.k8s.io",
            "v1",
            "NetworkPolicy",
            "networkpolicies",
            true,
        ),
        r(
            "discovery.k8s.io",
            "v1",
            "EndpointSlice",
            "endpointslices",
            true,
        ),
        r("coordination.k8s.io", "v1", "Lease", "leases", true),
        r("events.k8s.io", "v1", "Event", "events", true),
        r(
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingAdmissionPolicy",
            "validatingadmissionpolicies",
            false,
        )
        .with_status(),
        r(
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingAdmissionPolicyBinding",
            "validatingadmissionpolicybindings",
            false,
        ),
        r(
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingWebhookConfiguration",
            "validatingwebhookconfigurations",
            false,
        ),
        r(
            "admissionregistration.k8s.io",
            "v1",
            "MutatingWebhookConfiguration",
            "mutatingwebhookconfigurations",
            false,
        ),
        r(
            "certificates.k8s.io",
            "v1",
            "CertificateSigningRequest",
            "certificatesigningrequests",
            false,
        )
        .with_status(),
        r(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            false,
        )
        .with_status(),
        r("corral.dev", "v1alpha1", "Recording", "recordings", true).with_status(),
        r(
            "security-profiles-operator.x-k8s.io",
            "v1beta1",
            "SeccompProfile",
            "seccompprofiles",
            true,
        )
        .with_status(),
    ]
}

/// The tokens of a JSON pointer.
fn pointer(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| format!("path {path:?} does not start with '/'"))?;
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn parent<'a>(
    target: &'a mut Value,
    tokens: &[String],
    path: &str,
) -> Result<&'a mut Value, String> {
    let mut at = target;
    for token in tokens {
        at = match at {
            Value::Object(map) => map.get_mut(token),
            Value::Array(items) => token.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| format!("path {path:?}: {token:?} does not exist"))?;
    }
    Ok(at)
}

fn json_remove(target: &mut Value, path: &str) -> Result<Value, String> {
    let tokens = pointer(path)?;
    let (last, head) = tokens
        .split_last()
        .ok_or("cannot remove the whole object")?;
    match parent(target, head, path)? {
        Value::Object(map) => map.remove(last),
        Value::Array(items) => last
            .parse::<usize>()
            .ok()
            .filter(|&i| i < items.len())
            .map(|i| items.remove(i)),
        _ => None,
    }
    .ok_or_else(|| format!("path {path:?} does not exist"))
}

fn json_add(target: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let tokens = pointer(path)?;
    let Some((last, head)) = tokens.split_last() else {
        *target = value;
        return Ok(());
    };
    match parent(target, head, path)? {
        Value::Object(map) => {
            map.insert(last.clone(), value);
        }
        Value::Array(items) => {
            let index = if last == "-" {
                items.len()
            } else {
                last.parse::<usize>()
                    .ok()
                    .filter(|&i| i <= items.len())
                    .ok_or_else(|| format!("path {path:?}: bad index {last:?}"))?
            };
            items.insert(index, value);
        }
        _ => {
            return Err(format!(
                "path {path:?}: the parent is not an object or array"
            ))
        }
    }
    Ok(())
}

/// RFC 6902 over `target`; on an error `target` may be half patched (the
/// caller patches a copy).
pub fn apply_json_patch(target: &mut Value, ops: &Value) -> Result<(), String> {
    let ops = ops
        .as_array()
        .ok_or("a JSON patch is an array of operations")?;
    for (i, op) in ops.iter().enumerate() {
        let path = op["path"]
            .as_str()
            .ok_or_else(|| format!("operation {i}: no path"))?;
        let value = || {
            op.get("value")
                .cloned()
                .ok_or_else(|| format!("operation {i}: no value"))
        };
        let from = || {
            op["from"]
                .as_str()
                .ok_or_else(|| format!("operation {i}: no from"))
        };
        match op["op"].as_str() {
            Some("add") => json_add(target, path, value()?)?,
            Some("remove") => {
                json_remove(target, path)?;
            }
            Some("replace") => {
                json_remove(target, path)?;
                json_add(target, path, value()?)?;
            }
            Some("move") => {
                let moved = json_remove(target, from()?)?;
                json_add(target, path, moved)?;
            }
            Some("copy") => {
                let tokens = pointer(from()?)?;
                let copied = parent(target, &tokens, path)?.clone();
                json_add(target, path, copied)?;
            }
            Some("test") => {
                let tokens = pointer(path)?;
                if *parent(target, &tokens, path)? != value()? {
                    return Err(format!("operation {i}: test of {path:?} failed"));
                }
            }
            other => return Err(format!("operation {i}: unknown op {other:?}")),
        }
    }
    Ok(())
}
