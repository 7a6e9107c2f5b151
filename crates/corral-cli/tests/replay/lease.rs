//! The stand-in API server's `coordination.k8s.io/v1` Leases, as the API
//! server keeps them: a create of an existing Lease is 409 AlreadyExists;
//! a PUT whose `metadata.resourceVersion` is not the stored one is 409
//! Conflict; every write gets a new resourceVersion. Each write is logged
//! with its holder and when it was made, for the tests to check who led
//! and when.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use serde_json::{json, Value};

use super::{status, Answer, Request};

/// A write the server accepted.
#[derive(Clone, Debug)]
pub struct Write {
    pub holder: String,
    pub at: Instant,
    /// Who sent it (the tag the test gave its handler).
    pub by: String,
}

#[derive(Default)]
pub struct Leases {
    objects: BTreeMap<String, Value>,
    version: u64,
    pub writes: Vec<Write>,
    /// Answer this many PUTs with 409 Conflict, whatever their version.
    pub conflicts: usize,
    /// Answer every lease request with 500.
    pub failing: bool,
}

/// Is this a Lease request?
pub fn is_lease(path: &str) -> bool {
    path.starts_with("/apis/coordination.k8s.io/v1/namespaces/")
}

impl Leases {
    pub fn holder(&self) -> Option<String> {
        self.objects
            .values()
            .next()
            .and_then(|l| l["spec"]["holderIdentity"].as_str().map(str::to_string))
    }

    /// Set the holder (another client's write), as of now.
    pub fn take(&mut self, holder: &str) {
        self.version += 1;
        for lease in self.objects.values_mut() {
            lease["spec"]["holderIdentity"] = json!(holder);
            lease["metadata"]["resourceVersion"] = json!(self.version.to_string());
        }
    }

    fn write(&mut self, path: String, mut object: Value, by: &str) -> Answer {
        self.version += 1;
        object["metadata"]["resourceVersion"] = json!(self.version.to_string());
        self.writes.push(Write {
            holder: object["spec"]["holderIdentity"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            at: Instant::now(),
            by: by.to_string(),
        });
        self.objects.insert(path, object.clone());
        (200, object, None)
    }

    /// Answer a Lease request sent by `by`.
    pub fn answer(&mut self, request: &Request, by: &str) -> Answer {
        if self.failing {
            return status(500, "InternalError", "failing, as the test asked");
        }
        let path = request.path.clone();
        match request.method.as_str() {
            "GET" => match self.objects.get(&path) {
                Some(object) => (200, object.clone(), None),
                None => status(404, "NotFound", "leases not found"),
            },
            "POST" => {
                let name = request.body["metadata"]["name"].as_str().unwrap_or("");
                let path = format!("{path}/{name}");
                if self.objects.contains_key(&path) {
                    return status(409, "AlreadyExists", "lease already exists");
                }
                let (code, object, retry) = self.write(path, request.body.clone(), by);
                (if code == 200 { 201 } else { code }, object, retry)
            }
            "PUT" => {
                let stored = self
                    .objects
                    .get(&path)
                    .map(|o| o["metadata"]["resourceVersion"].clone());
                if self.conflicts > 0 {
                    self.conflicts -= 1;
                    return status(409, "Conflict", "the object has been modified");
                }
                match stored {
                    None => status(404, "NotFound", "lease not found"),
                    Some(version) if version != request.body["metadata"]["resourceVersion"] => {
                        status(409, "Conflict", "the object has been modified")
                    }
                    Some(_) => self.write(path, request.body.clone(), by),
                }
            }
            _ => status(405, "MethodNotAllowed", "not served"),
        }
    }
}

/// One Leases for several handlers.
pub type Shared = std::sync::Arc<Mutex<Leases>>;
