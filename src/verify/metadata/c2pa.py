"""Content Credentials (C2PA), read and validated offline.

The SDK would fetch a manifest stored elsewhere when a file points to one, and may check
certificate revocation online; both are switched off (``verify.remote_manifest_fetch`` and
``verify.ocsp_fetch``), so reading a file never reaches the network. A remote-only manifest is
reported as such, never fetched.

"Present but not validated" (a store c2pa-python cannot read, or in a container it does not
handle) is its own state, ``"Unvalidated"``, found by walking the container independently.

Absence is ``None``: most real photos have no Content Credentials, and that means "provenance
unknown", never a warning sign.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from verify.metadata.c2pa_presence import find_manifest_store
from verify.metadata.parsing import clean_text

OFFLINE_SETTINGS: dict[str, Any] = {
    "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
}

_context: Any = None


def _offline_context() -> Any:
    global _context
    import c2pa

    if _context is None:
        _context = c2pa.Context.from_dict(OFFLINE_SETTINGS)
    return _context


def read(path: Path, mime: str | None) -> dict[str, Any] | None:
    """Summarise the active manifest, or ``None`` when the file has no Content Credentials.

    The container is looked at first (``c2pa_presence``): a manifest store found there that the
    SDK cannot read, or in a container it does not handle, is reported as present but not
    validated (``state`` "Unvalidated", ``valid`` None), never as absent.
    """
    import c2pa

    where = find_manifest_store(path, mime)
    try:
        with open(path, "rb") as fh:
            reader = c2pa.Reader.try_create(mime or "", fh, context=_offline_context())
            if reader is None:
                return unvalidated(where, "the C2PA library found no manifest it could read") if where else None
            with reader:
                data = json.loads(reader.json())
                state = reader.get_validation_state()
                embedded = reader.is_embedded()
    except c2pa.C2paError.NotSupported:
        return unvalidated(where, "the C2PA library does not read this file type") if where else None
    except c2pa.C2paError as exc:
        text = str(exc)
        if "RemoteManifest" in text or "remote" in text.lower():
            return {"present": True, "state": "remote", "valid": None, "remote_only": True, "container": where,
                    "summary": "The file points to Content Credentials stored online; they were not fetched (offline)."}  # fmt: skip
        if "JUMBF" in text and "no" in text.lower() and not where:
            return None
        # "Other: required JUMBF box not found": the category, then what the SDK says went wrong.
        category, _, detail = text.partition(":")
        reason = clean_text(detail.strip() or category, 120) or "unreadable"
        return unvalidated(where or "found by the C2PA library", f"the manifest store cannot be read ({reason})")
    out = summarise(data, state, embedded)
    out["container"] = where
    return out


def unvalidated(where: str | None, reason: str) -> dict[str, Any]:
    """A manifest store is there but could not be checked: a state of its own, not "absent"."""
    return {
        "present": True,
        "state": "Unvalidated",
        "valid": None,
        "trusted": False,
        "embedded": True,
        "container": where,
        "reason": reason,
        "summary": f"A C2PA manifest store is present ({where}) but was not validated: {reason}.",
    }


def summarise(data: dict[str, Any], state: str | None, embedded: bool = True) -> dict[str, Any]:
    """The parts an editor needs: who made it, who signed it, what was done, whether it holds."""
    manifests = data.get("manifests") or {}
    active = manifests.get(data.get("active_manifest") or "", {}) if isinstance(manifests, dict) else {}
    generator = clean_text(active.get("claim_generator"), 200)
    if not generator:
        info = active.get("claim_generator_info") or []
        if info and isinstance(info[0], dict):
            generator = " ".join(filter(None, (clean_text(info[0].get("name"), 100), clean_text(info[0].get("version"), 40))))
    sig = active.get("signature_info") or {}
    actions: list[dict[str, str]] = []
    for assertion in active.get("assertions") or []:
        if not isinstance(assertion, dict) or not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        for action in (assertion.get("data") or {}).get("actions") or []:
            if isinstance(action, dict):
                agent = action.get("softwareAgent")
                if isinstance(agent, dict):
                    agent = agent.get("name")
                actions.append({k: v for k, v in {
                    "action": clean_text(action.get("action"), 100),
                    "software": clean_text(agent, 200),
                    "digital_source_type": clean_text(str(action.get("digitalSourceType") or "").rsplit("/", 1)[-1], 100),
                    "when": clean_text(action.get("when"), 60),
                }.items() if v})  # fmt: skip
    statuses = data.get("validation_status") or []
    failures = [
        {"code": clean_text(s.get("code"), 100) or "", "explanation": clean_text(s.get("explanation"), 300) or ""}
        for s in statuses
        if isinstance(s, dict)
    ]
    results = data.get("validation_results") or {}
    active_results = results.get("activeManifest") if isinstance(results, dict) else None
    if isinstance(active_results, dict):
        for s in active_results.get("failure") or []:
            if isinstance(s, dict) and not any(f["code"] == s.get("code") for f in failures):
                failures.append({"code": clean_text(s.get("code"), 100) or "", "explanation": clean_text(s.get("explanation"), 300) or ""})
    # Untrusted signer is not tampering: the certificate is just not on a trust list we hold.
    hard = [f for f in failures if f["code"] not in ("signingCredential.untrusted", "timeStamp.untrusted")]
    state_text = state or ("Invalid" if hard else "Valid")
    valid = state_text in ("Valid", "Trusted") and not hard
    return {
        "present": True,
        "state": state_text,
        "valid": valid,
        "trusted": state_text == "Trusted",
        "embedded": embedded,
        "claim_generator": generator,
        "title": clean_text(active.get("title"), 200),
        "signer": clean_text(sig.get("issuer"), 200),
        "signer_name": clean_text(sig.get("common_name"), 200),
        "signed_at": clean_text(sig.get("time"), 60),
        "actions": actions[:50],
        "failures": failures[:20],
        "manifests": len(manifests) if isinstance(manifests, dict) else 0,
    }
