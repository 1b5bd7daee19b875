//! JSON shapes of the `--json` outputs (documented in `docs/json.md`).
//! Every document carries a `schema` name with a version; fields are only
//! ever added within a version.

use crate::exit::CliError;
use hpk_format::{CatalogEntry, Manifest, PackageKind, Targets};
use hpk_verify::{Plan, Skipped, Step};
use serde_json::{Value, json};

/// Targets as JSON.
pub fn targets(t: &Targets) -> Value {
    json!({
        "os": t.os.as_str(),
        "architectures": t.architectures.iter().map(|x| x.as_str()).collect::<Vec<_>>(),
        "editions": t.editions.iter().map(|x| x.as_str()).collect::<Vec<_>>(),
        "channel": t.channel.name(),
        "capabilities": t.capabilities.iter().map(|x| x.as_str()).collect::<Vec<_>>(),
    })
}

/// The kind's own data, under the kind's name (`baseline`, `hotpatch`),
/// as in a package description; standard and recovery packages have none.
fn kind_data(k: &PackageKind) -> Option<(&'static str, Value)> {
    match k {
        PackageKind::Baseline(b) => Some((
            "baseline",
            json!({
                "security_floor": b.security_floor,
                "revoked_hotpatches": b.revoked_hotpatches.iter().map(|d| d.to_hex()).collect::<Vec<_>>(),
            }),
        )),
        PackageKind::Hotpatch(h) => Some((
            "hotpatch",
            json!({
                "baseline": h.baseline.to_hex(),
                "sequence": h.sequence,
                "modules": h.modules.iter().map(|m| json!({"path": m.path.as_str(), "digest_before": m.digest_before.to_hex()})).collect::<Vec<_>>(),
            }),
        )),
        PackageKind::Standard | PackageKind::Recovery => None,
    }
}

/// Adds `kind` and the kind's own data to an object.
fn with_kind(mut v: Value, k: &PackageKind) -> Value {
    if let Value::Object(map) = &mut v {
        map.insert("kind".to_owned(), Value::from(k.name()));
        if let Some((key, data)) = kind_data(k) {
            map.insert(key.to_owned(), data);
        }
    }
    v
}

/// A manifest as JSON.
pub fn manifest(m: &Manifest, digest: &hpk_format::Digest) -> Value {
    with_kind(
        json!({
            "name": m.name.as_str(),
            "version": m.version.to_string(),
            "security_version": m.security_version,
            "created": m.created,
            "expires": m.expires,
            "restart_required": m.restart_required,
            "targets": targets(&m.targets),
            "manifest_digest": digest.to_hex(),
            "payloads": m.payloads.iter().map(|p| json!({
                "name": p.name.as_str(),
                "executable": p.executable,
                "size": p.size,
                "stored_size": p.stored_size,
                "compression": p.compression.name(),
                "base": p.base().map(|b| json!({"sha256": b.digest.to_hex(), "size": b.size})),
                "chunk_size": p.chunk_size,
                "chunk_count": p.chunk_count,
                "sha256": p.content_digest.to_hex(),
            })).collect::<Vec<_>>(),
            "links": m.links.iter().map(|l| json!({"name": l.name.as_str(), "target": l.target.as_str()})).collect::<Vec<_>>(),
            "folders": m.folders.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
            "extensions": m.extensions.iter().map(|e| json!({"id": e.id, "critical": e.critical, "data_hex": hex::encode(&e.data)})).collect::<Vec<_>>(),
        }),
        &m.kind,
    )
}

/// A catalog entry as JSON.
pub fn entry(e: &CatalogEntry) -> Value {
    with_kind(
        json!({
            "name": e.name.as_str(),
            "version": e.version.to_string(),
            "security_version": e.security_version,
            "restart_required": e.restart_required,
            "targets": targets(&e.targets),
            "manifest_digest": e.manifest_digest.to_hex(),
            "size": e.size,
            "location": e.location,
            "delta": e.delta.map(|d| json!({"base": d.base.to_hex(), "full": d.full.to_hex()})),
        }),
        &e.kind,
    )
}

fn step(s: &Step) -> Value {
    json!({
        "action": "install",
        "restart": s.restart,
        "entry": entry(&s.entry),
    })
}

fn skipped(s: &Skipped) -> Value {
    json!({
        "reason": s.reason.as_str(),
        "detail": s.detail,
        "entry": entry(&s.entry),
    })
}

/// A plan as JSON (schema `hpk-plan/1`).
pub fn plan(p: &Plan, file: &str, catalog_version: u64) -> Value {
    json!({
        "schema": "hpk-plan/1",
        "file": file,
        "catalog_version": catalog_version,
        "track": p.track.as_str(),
        "status": p.status.as_str(),
        "restart_required": p.restart_required(),
        "steps": p.steps.iter().map(step).collect::<Vec<_>>(),
        "skipped": p.skipped.iter().map(skipped).collect::<Vec<_>>(),
    })
}

/// A failed command as JSON (schema `hpk-error/1`).
pub fn error(e: &CliError, command: &str) -> Value {
    json!({
        "schema": "hpk-error/1",
        "command": command,
        "result": e.failure.as_str(),
        "exit_code": e.failure.code(),
        "class": e.class.map(|c| c.as_str()),
        "reason": e.reason,
        "error": e.line(),
        "hint": e.hint_line(),
    })
}

/// Prints a JSON document on stdout.
pub fn print(v: &Value) {
    outln!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}
