//! The stand-in through the real kube-rs client and kube-runtime's
//! watchers, as the operator uses them.

use std::time::Duration;

use corral_standin::{Config, StandIn};
use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, PartialObjectMeta, Patch,
    PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::watcher::{self, Event};
use kube::Client;
use serde_json::json;

async fn client(server: &StandIn, dir: &tempfile::TempDir) -> Client {
    let path = server.kubeconfig(dir.path());
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

fn config_map(namespace: &str, name: &str, labels: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "namespace": namespace, "labels": labels},
           "data": {"k": "v"}})
}

/// The next event of a stream, within 10 s.
async fn next<S: futures::Stream + Unpin>(stream: &mut S) -> S::Item {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("an event within 10 s")
        .expect("the stream goes on")
}

#[tokio::test]
async fn lists_page_and_select() {
    let server = StandIn::start();
    let dir = tempfile::tempdir().unwrap();
    for i in 0..25 {
        let tier = if i % 2 == 0 { "front" } else { "back" };
        server
            .apply(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("p{i:02}"), "namespace": "a", "labels": {"tier": tier}},
                "spec": {"nodeName": format!("n{}", i % 3), "containers": [{"name": "c", "image": "i"}]}}))
            .unwrap();
    }
    for i in 0..5 {
        server
            .apply(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("q{i}"), "namespace": "b"}, "spec": {"containers": []}}))
            .unwrap();
    }
    let client = client(&server, &dir).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "a");
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut params = ListParams::default().limit(10);
        if let Some(token) = token.take() {
            params = params.continue_token(&token);
        }
        let page = pods.list(&params).await.unwrap();
        pages += 1;
        names.extend(page.items.iter().map(|p| p.metadata.name.clone().unwrap()));
        assert!(page.metadata.resource_version.is_some());
        match page.metadata.continue_ {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names.len(), 25);
    assert_eq!(names[0], "p00");
    assert_eq!(names[24], "p24");

    let all: Api<Pod> = Api::all(client.clone());
    assert_eq!(
        all.list(&ListParams::default()).await.unwrap().items.len(),
        30
    );
    let front = pods
        .list(&ListParams::default().labels("tier in (front),!missing"))
        .await
        .unwrap();
    assert_eq!(front.items.len(), 13);
    let back = all
        .list(&ListParams::default().labels("tier!=front"))
        .await
        .unwrap();
    assert_eq!(back.items.len(), 12 + 5);
    let on_node = all
        .list(&ListParams::default().fields("spec.nodeName=n1,metadata.namespace=a"))
        .await
        .unwrap();
    assert_eq!(on_node.items.len(), 8);
    let one = all
        .list(&ListParams::default().fields("metadata.name=q3"))
        .await
        .unwrap();
    assert_eq!(one.items[0].metadata.namespace.as_deref(), Some("b"));
    // A malformed selector is a 400, not a panic nor everything.
    let bad = all
        .list(&ListParams::default().labels("tier in (front"))
        .await;
    assert!(matches!(bad, Err(kube::Error::Api(s)) if s.code == 400));

    let stats = server.stats();
    assert_eq!(stats.requests("list"), 3 + 1 + 2 + 2 + 1);
    assert!(stats.api[&("list".to_string(), "pods".to_string())].bytes_out > 1000);
    assert_eq!(
        stats.internal[&("patch".to_string(), "pods".to_string())].requests,
        30
    );
}

#[tokio::test]
async fn watcher_sees_changes_and_relists_after_410() {
    let server = StandIn::start();
    let dir = tempfile::tempdir().unwrap();
    server
        .apply(config_map("a", "one", json!({"app": "x"})))
        .unwrap();
    let client = client(&server, &dir).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "a");
    let mut stream = watcher::watcher(api, watcher::Config::default().labels("app=x")).boxed();
    assert!(matches!(next(&mut stream).await.unwrap(), Event::Init));
    match next(&mut stream).await.unwrap() {
        Event::InitApply(cm) => assert_eq!(cm.metadata.name.as_deref(), Some("one")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(next(&mut stream).await.unwrap(), Event::InitDone));

    server
        .apply(config_map("a", "two", json!({"app": "x"})))
        .unwrap();
    match next(&mut stream).await.unwrap() {
        Event::Apply(cm) => assert_eq!(cm.metadata.name.as_deref(), Some("two")),
        other => panic!("{other:?}"),
    }
    let mut changed = config_map("a", "two", json!({"app": "x"}));
    changed["data"]["k"] = json!("w");
    server.apply(changed.clone()).unwrap();
    match next(&mut stream).await.unwrap() {
        Event::Apply(cm) => assert_eq!(cm.data.unwrap()["k"], "w"),
        other => panic!("{other:?}"),
    }
    // The same again: no new version, no event; another namespace's and
    // another label's objects are not seen either.
    let rv = server.resource_version();
    server.apply(changed).unwrap();
    assert_eq!(server.resource_version(), rv);
    server
        .apply(config_map("b", "three", json!({"app": "x"})))
        .unwrap();
    server
        .apply(config_map("a", "four", json!({"app": "y"})))
        .unwrap();
    // Leaving the selection is a deletion to this watch.
    server
        .apply(config_map("a", "one", json!({"app": "z"})))
        .unwrap();
    match next(&mut stream).await.unwrap() {
        Event::Delete(cm) => assert_eq!(cm.metadata.name.as_deref(), Some("one")),
        other => panic!("{other:?}"),
    }
    server.delete("configmaps", "a", "two").unwrap();
    match next(&mut stream).await.unwrap() {
        Event::Delete(cm) => assert_eq!(cm.metadata.name.as_deref(), Some("two")),
        other => panic!("{other:?}"),
    }

    // Every version so far too old: the watch ends with 410 and the
    // watcher lists again.
    let lists = server.stats().requests("list");
    server.expire_history();
    server
        .apply(config_map("a", "five", json!({"app": "x"})))
        .unwrap();
    let mut relisted = false;
    for _ in 0..10 {
        match next(&mut stream).await {
            Ok(Event::Init) => relisted = true,
            Ok(Event::InitApply(cm)) if relisted => {
                assert_eq!(cm.metadata.name.as_deref(), Some("five"))
            }
            Ok(Event::InitDone) if relisted => break,
            Ok(_) => {}
            // kube-runtime reports the 410 before it relists.
            Err(e) => assert!(
                e.to_string().contains("410") || e.to_string().contains("xpired"),
                "{e}"
            ),
        }
    }
    assert!(relisted);
    assert_eq!(server.stats().requests("list"), lists + 1);
}

#[tokio::test]
async fn bookmarks_and_expired_versions_on_a_raw_watch() {
    let server = StandIn::with_config(Config {
        bookmark_interval: Duration::from_millis(200),
        history: 3,
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let client = client(&server, &dir).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "a");
    for i in 0..5 {
        server
            .apply(config_map("a", &format!("c{i}"), json!({})))
            .unwrap();
    }
    let params = WatchParams::default().timeout(2);
    let mut stream = api.watch(&params, "1").await.unwrap().boxed();
    match next(&mut stream).await.unwrap() {
        WatchEvent::Error(e) => assert_eq!((e.code, e.reason.as_str()), (410, "Expired")),
        other => panic!("{other:?}"),
    }
    // From the latest version: bookmarks at that version, periodically and
    // at the timeout.
    let rv = server.resource_version().to_string();
    let mut stream = api.watch(&params, &rv).await.unwrap().boxed();
    let mut bookmarks = 0;
    while let Some(event) = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap()
    {
        match event.unwrap() {
            WatchEvent::Bookmark(b) => {
                assert_eq!(b.metadata.resource_version, rv);
                bookmarks += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(bookmarks >= 3, "{bookmarks} bookmarks in 2 s at 200 ms");
    assert_eq!(server.stats().watches_open["configmaps"], 0);
}

#[tokio::test]
async fn metadata_watcher_gets_partial_objects() {
    let server = StandIn::start();
    let dir = tempfile::tempdir().unwrap();
    server
        .apply(config_map("a", "one", json!({"app": "x"})))
        .unwrap();
    let client = client(&server, &dir).await;
    let api: Api<PartialObjectMeta<ConfigMap>> = Api::all(client.clone());
    let mut stream = watcher::watcher(api, watcher::Config::default()).boxed();
    assert!(matches!(next(&mut stream).await.unwrap(), Event::Init));
    match next(&mut stream).await.unwrap() {
        Event::InitApply(meta) => {
            assert_eq!(meta.metadata.labels.unwrap()["app"], "x");
            assert_eq!(meta.types.unwrap().kind, "PartialObjectMetadata");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(next(&mut stream).await.unwrap(), Event::InitDone));
    server.apply(config_map("a", "two", json!({}))).unwrap();
    match next(&mut stream).await.unwrap() {
        Event::Apply(meta) => assert_eq!(meta.metadata.name.as_deref(), Some("two")),
        other => panic!("{other:?}"),
    }
    // A metadata get too.
    let api: Api<ConfigMap> = Api::namespaced(client, "a");
    let meta = api.get_metadata("one").await.unwrap();
    assert_eq!(meta.metadata.name.as_deref(), Some("one"));
}

#[tokio::test]
async fn server_side_apply_creates_updates_and_is_idempotent() {
    let server = StandIn::start();
    let dir = tempfile::tempdir().unwrap();
    let client = client(&server, &dir).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "a");
    let params = PatchParams::apply("corral").force();
    let object = config_map("a", "cm", json!({"x": "1"}));
    let created = api
        .patch("cm", &params, &Patch::Apply(&object))
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.metadata.uid.is_some());
    assert!(created.metadata.creation_timestamp.is_some());
    let mut changed = object.clone();
    changed["data"] = json!({"k": "w", "extra": "e"});
    let updated = api
        .patch("cm", &params, &Patch::Apply(&changed))
        .await
        .unwrap();
    assert_eq!(updated.metadata.uid, created.metadata.uid);
    assert_eq!(updated.metadata.generation, Some(2));
    assert_ne!(
        updated.metadata.resource_version,
        created.metadata.resource_version
    );
    let again = api
        .patch("cm", &params, &Patch::Apply(&changed))
        .await
        .unwrap();
    assert_eq!(
        again.metadata.resource_version,
        updated.metadata.resource_version
    );
    // A merge patch: null removes.
    let merged = api
        .patch(
            "cm",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"extra": null}})),
        )
        .await
        .unwrap();
    assert_eq!(merged.data.unwrap().len(), 1);
    // A JSON patch.
    let patched = api
        .patch(
            "cm",
            &PatchParams::default(),
            &Patch::<()>::Json(
                serde_json::from_value(json!([{"op": "add", "path": "/data/j", "value": "p"}]))
                    .unwrap(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(patched.data.unwrap()["j"], "p");
    // Create twice: 409; a missing object: 404.
    let cm: ConfigMap = serde_json::from_value(config_map("a", "cm", json!({}))).unwrap();
    let twice = api.create(&PostParams::default(), &cm).await;
    assert!(
        matches!(twice, Err(kube::Error::Api(s)) if s.code == 409 && s.reason == "AlreadyExists")
    );
    assert!(matches!(api.get("nope").await, Err(kube::Error::Api(s)) if s.code == 404));
    api.delete("cm", &DeleteParams::default()).await.unwrap();
    assert!(api.get_opt("cm").await.unwrap().is_none());
}

#[tokio::test]
async fn lease_replace_with_a_stale_version_conflicts() {
    let server = StandIn::start();
    let dir = tempfile::tempdir().unwrap();
    let client = client(&server, &dir).await;
    let api: Api<Lease> = Api::namespaced(client, "corral");
    let lease: Lease = serde_json::from_value(json!({"metadata": {"name": "operator"},
        "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}}))
    .unwrap();
    let created = api.create(&PostParams::default(), &lease).await.unwrap();
    let mut mine = created.clone();
    mine.spec.as_mut().unwrap().holder_identity = Some("b".into());
    let taken = api
        .replace("operator", &PostParams::default(), &mine)
        .await
        .unwrap();
    assert_eq!(taken.spec.unwrap().holder_identity.as_deref(), Some("b"));
    // Another replica, from the version it read before: conflict.
    let mut theirs = created;
    theirs.spec.as_mut().unwrap().holder_identity = Some("c".into());
    let lost = api
        .replace("operator", &PostParams::default(), &theirs)
        .await;
    assert!(matches!(lost, Err(kube::Error::Api(s)) if s.code == 409 && s.reason == "Conflict"));
}

#[tokio::test]
async fn status_subresource_and_garbage_collection() {
    let server = StandIn::start();
    let dir = tempfile::tempdir().unwrap();
    let client = client(&server, &dir).await;
    let resource = ApiResource {
        group: "corral.dev".into(),
        version: "v1alpha1".into(),
        api_version: "corral.dev/v1alpha1".into(),
        kind: "Recording".into(),
        plural: "recordings".into(),
    };
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "shop", &resource);
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "corral.dev/v1alpha1", "kind": "Recording",
        "metadata": {"name": "web-app-merged"},
        "spec": {"workload": "web", "runs": 1}, "status": {"ignored": true}}))
    .unwrap();
    let created = api.create(&PostParams::default(), &object).await.unwrap();
    assert!(
        created.data.get("status").is_none(),
        "status is not written on create"
    );
    let status = api
        .patch_status(
            "web-app-merged",
            &PatchParams::apply("corral").force(),
            &Patch::Apply(
                json!({"apiVersion": "corral.dev/v1alpha1", "kind": "Recording",
                "metadata": {"name": "web-app-merged"},
                "spec": {"workload": "changed"}, "status": {"conditions": [{"type": "Merged"}]}}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        status.data["spec"]["workload"], "web",
        "a status write changes only the status"
    );
    assert_eq!(status.data["status"]["conditions"][0]["type"], "Merged");
    assert_eq!(status.metadata.generation, Some(1));
    let spec = api
        .patch(
            "web-app-merged",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"runs": 2}, "status": null})),
        )
        .await
        .unwrap();
    assert_eq!(
        spec.data["status"]["conditions"][0]["type"], "Merged",
        "the resource's write keeps the status"
    );
    assert_eq!(spec.metadata.generation, Some(2));

    // Dependents by owner uid go with their owner.
    let uid = spec.metadata.uid.clone().unwrap();
    let owned = |name: &str, owner: &str| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": name, "namespace": "shop",
                   "ownerReferences": [{"apiVersion": "x", "kind": "y", "name": "o", "uid": owner}]}})
    };
    server.apply(owned("child", &uid)).unwrap();
    let child_uid = server.get("configmaps", "shop", "child").unwrap()["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    server.apply(owned("grandchild", &child_uid)).unwrap();
    server.apply(owned("stranger", "no-such-uid")).unwrap();
    api.delete("web-app-merged", &DeleteParams::background())
        .await
        .unwrap();
    let left: Vec<String> = server
        .list("configmaps", Some("shop"))
        .iter()
        .map(|c| c["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, ["stranger"]);
}

#[tokio::test]
async fn events_recorder_publishes() {
    use k8s_openapi::api::core::v1::ObjectReference;
    use kube::runtime::events::{Event as KubeEvent, EventType, Recorder, Reporter};
    let server = StandIn::start();
    let dir = tempfile::tempdir().unwrap();
    let client = client(&server, &dir).await;
    let recorder = Recorder::new(
        client,
        Reporter {
            controller: "corral".into(),
            instance: None,
        },
    );
    let reference = ObjectReference {
        api_version: Some("corral.dev/v1alpha1".into()),
        kind: Some("Recording".into()),
        name: Some("web-app-merged".into()),
        namespace: Some("shop".into()),
        ..Default::default()
    };
    let event = KubeEvent {
        type_: EventType::Normal,
        reason: "Merged".into(),
        note: Some("3 runs".into()),
        action: "Merge".into(),
        secondary: None,
    };
    recorder.publish(&event, &reference).await.unwrap();
    recorder.publish(&event, &reference).await.unwrap();
    let events = server.list("events.events.k8s.io", Some("shop"));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["series"]["count"], 2);
    let stats = server.stats();
    assert_eq!(
        stats.api[&("create".to_string(), "events.events.k8s.io".to_string())].requests,
        1
    );
    assert_eq!(
        stats.api[&("patch".to_string(), "events.events.k8s.io".to_string())].requests,
        1
    );
}

#[tokio::test]
async fn streaming_lists_end_their_initial_events_with_a_bookmark() {
    let server = StandIn::start();
    let dir = tempfile::tempdir().unwrap();
    for name in ["one", "two"] {
        server.apply(config_map("a", name, json!({}))).unwrap();
    }
    let client = client(&server, &dir).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "a");
    let mut stream = watcher::watcher(api, watcher::Config::default().streaming_lists()).boxed();
    assert!(matches!(next(&mut stream).await.unwrap(), Event::Init));
    for name in ["one", "two"] {
        match next(&mut stream).await.unwrap() {
            Event::InitApply(cm) => assert_eq!(cm.metadata.name.as_deref(), Some(name)),
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(next(&mut stream).await.unwrap(), Event::InitDone));
    server.apply(config_map("a", "three", json!({}))).unwrap();
    match next(&mut stream).await.unwrap() {
        Event::Apply(cm) => assert_eq!(cm.metadata.name.as_deref(), Some("three")),
        other => panic!("{other:?}"),
    }
    let stats = server.stats();
    assert_eq!(stats.requests("list"), 0, "a streaming list is a watch");
    assert_eq!(stats.requests("watch"), 1);
}
