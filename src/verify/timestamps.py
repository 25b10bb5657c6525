"""Trusted timestamps (RFC 3161) of the chain head: proof, from an outside authority, of *when*.

The event chain proves order and integrity inside one installation; someone with full database
access could still rewrite the whole chain and its head. A timestamp authority (TSA) signing the
chain head closes that gap: after a token exists, a rewrite of any event at or before the stamped
head changes that head, and the token no longer fits it. The token is kept as an ordinary
``timestamped`` event (item ``None``) in the chain itself, so it travels with the log, the
backups and the evidence bundles.

What is stamped: the 64 hex characters of the chain head, as ASCII bytes, hashed with SHA-256 by
the request. So a third party checks a token with standard tools only:
``printf %s HEAD > head.txt && openssl ts -verify -data head.txt -in token.tsr -CAfile tsa.pem``.

Offline by default: nothing is sent unless ``VERIFY_TSA_URL`` names one or more authorities
(comma-separated). An authority that does not answer costs nothing but the stamp: the desk keeps
working and the newest events are reported as *pending* a timestamp until the next stamp.
The ASN.1 (request, response, CMS signature, certificate chain) is handled by ``rfc3161-client``
and ``cryptography``; nothing here reads DER by hand.
"""

from __future__ import annotations

import base64
import hashlib
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verify.errors import VerifyError

if TYPE_CHECKING:  # pragma: no cover
    from cryptography.x509 import Certificate

    from verify.config import Settings
    from verify.models import Event
    from verify.store import Store

EVENT_KIND = "timestamped"
DEFAULT_TIMEOUT_S = 10.0


def tsa_urls(settings: Settings) -> list[str]:
    """The configured authorities; empty (offline) unless ``VERIFY_TSA_URL`` is set."""
    raw = getattr(settings, "tsa_url", None) or ""
    return [u.strip() for u in raw.split(",") if u.strip()]


def load_roots(path: str | Path | None) -> list[Certificate]:
    """Trusted root certificates (PEM, one or several) a token's signer must chain to."""
    if not path:
        return []
    from cryptography import x509

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise VerifyError(f"The timestamp authority certificate file cannot be read ({exc.strerror}).") from exc
    try:
        return list(x509.load_pem_x509_certificates(data))
    except ValueError as exc:
        raise VerifyError("The timestamp authority certificate file holds no PEM certificate.") from exc


def roots_pem(roots: Sequence[Certificate]) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return b"".join(c.public_bytes(Encoding.PEM) for c in roots)


# -- asking an authority ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    """One authority's signed answer for one chain head."""

    tsa: str
    response: bytes  # DER TimeStampResp, as the authority sent it (openssl ts -verify -in reads it)
    gen_time: str

    def to_payload(self) -> dict[str, Any]:
        return {"tsa": self.tsa, "gen_time": self.gen_time, "response": base64.b64encode(self.response).decode("ascii")}


@dataclass
class StampResult:
    covers: str
    events: int
    tokens: list[Token] = field(default_factory=list)
    pending: list[tuple[str, str]] = field(default_factory=list)  # (authority, why it gave no token)
    event: Event | None = None

    @property
    def stamped(self) -> bool:
        return bool(self.tokens)

    def to_dict(self) -> dict[str, Any]:
        return {
            "covers": self.covers,
            "events": self.events,
            "stamped": self.stamped,
            "tokens": [{"tsa": t.tsa, "gen_time": t.gen_time} for t in self.tokens],
            "pending": [{"tsa": u, "reason": r} for u, r in self.pending],
            "event_id": self.event.id if self.event else None,
        }


def request_token(url: str, head: str, *, timeout: float = DEFAULT_TIMEOUT_S) -> Token:
    """Ask one authority to stamp ``head``; the answer is checked to be for this head and request."""
    from rfc3161_client import HashAlgorithm, TimestampRequestBuilder, decode_timestamp_response
    from rfc3161_client.tsp import PKIStatus

    req = TimestampRequestBuilder().data(head.encode("ascii")).hash_algorithm(HashAlgorithm.SHA256).nonce(nonce=True).cert_request(cert_request=True).build()
    http = urllib.request.Request(url, data=req.as_bytes(), method="POST", headers={"Content-Type": "application/timestamp-query"})
    try:
        with urllib.request.urlopen(http, timeout=timeout) as resp:  # noqa: S310 - the configured authority
            body = resp.read(1024 * 1024)
    except urllib.error.HTTPError as exc:
        raise VerifyError(f"the authority answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise VerifyError(f"the authority did not answer ({reason})") from exc
    try:
        parsed = decode_timestamp_response(body)
    except Exception as exc:  # noqa: BLE001 - any undecodable answer is the same to the desk
        raise VerifyError("the authority's answer is not an RFC 3161 timestamp response") from exc
    if PKIStatus(parsed.status) not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        raise VerifyError(f"the authority refused the request (status {parsed.status})")
    info = parsed.tst_info
    if info.message_imprint.message != hashlib.sha256(head.encode("ascii")).digest():
        raise VerifyError("the authority stamped something other than the chain head")
    if req.nonce is not None and info.nonce != req.nonce:
        raise VerifyError("the authority's answer does not carry this request's nonce (a replayed answer)")
    return Token(url, body, _aware(info.gen_time).isoformat())


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def stamp_head(store: Store, settings: Settings, *, actor: str, urls: Iterable[str] | None = None) -> StampResult:
    """Stamp the current chain head with every configured authority and record the tokens.

    The network calls happen outside any database lock (an authority that hangs must not stop the
    desk). The head may move meanwhile; the event records which head its tokens cover, and
    checks accept any earlier head of the chain.
    """
    head, count = store.chain_head()
    result = StampResult(head, count)
    for url in list(urls if urls is not None else tsa_urls(settings)):
        try:
            result.tokens.append(request_token(url, head, timeout=getattr(settings, "tsa_timeout_s", DEFAULT_TIMEOUT_S)))
        except VerifyError as exc:
            result.pending.append((url, str(exc)))
    if result.tokens:
        payload = {"covers": head, "events": count, "tokens": [t.to_payload() for t in result.tokens]}
        result.event = store.append_event(None, actor, EVENT_KIND, payload)
    return result


# -- checking a token -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenCheck:
    tsa: str
    covers: str
    gen_time: str | None
    signer: str | None
    problem: str | None  # None: the token is valid for ``covers`` and signed by a trusted authority
    trusted: bool  # False: the signature was not checked against any trusted root

    def to_dict(self) -> dict[str, Any]:
        return {
            "tsa": self.tsa, "covers": self.covers, "gen_time": self.gen_time, "signer": self.signer,
            "ok": self.problem is None, "trusted": self.trusted, "problem": self.problem,
        }  # fmt: skip


def check_token(response: bytes, covers: str, roots: Sequence[Certificate], *, tsa: str = "") -> TokenCheck:
    """Is ``response`` a valid token over the chain head ``covers``, signed by a root in ``roots``?

    Without roots only the imprint is checked (``trusted`` False): the caller says so.
    """
    from rfc3161_client import VerificationError, VerifierBuilder, decode_timestamp_response

    try:
        parsed = decode_timestamp_response(response)
    except Exception:  # noqa: BLE001
        return TokenCheck(tsa, covers, None, None, "the token cannot be read (not an RFC 3161 response)", bool(roots))
    info = parsed.tst_info
    gen_time = _aware(info.gen_time).isoformat()
    signer = None
    try:
        signer = next(iter(parsed.signed_data.signer_infos)).issuer.rfc4514_string()
    except Exception:  # noqa: BLE001 - only used for the message
        pass
    if info.message_imprint.message != hashlib.sha256(covers.encode("ascii")).digest():
        return TokenCheck(tsa, covers, gen_time, signer, f"the token is not for chain head {covers[:16]}... (it stamps something else)", bool(roots))
    if not roots:
        return TokenCheck(tsa, covers, gen_time, signer, None, False)
    builder = VerifierBuilder()
    for root in roots:
        builder = builder.add_root_certificate(root)
    try:
        builder.build().verify_message(parsed, covers.encode("ascii"))
    except VerificationError as exc:
        return TokenCheck(tsa, covers, gen_time, signer, f"the token's signature is not from a trusted authority ({exc})", True)
    except Exception as exc:  # noqa: BLE001 - a malformed certificate is the same verdict
        return TokenCheck(tsa, covers, gen_time, signer, f"the token's signature cannot be checked ({type(exc).__name__})", True)
    return TokenCheck(tsa, covers, gen_time, signer, None, True)


def tokens_of(event: Event) -> list[tuple[str, bytes]]:
    """(authority, DER response) for each token a ``timestamped`` event carries."""
    out = []
    for t in (event.payload or {}).get("tokens", []) if isinstance(event.payload, dict) else []:
        try:
            out.append((str(t.get("tsa", "")), base64.b64decode(t["response"], validate=True)))
        except (KeyError, ValueError, TypeError):
            out.append((str(t.get("tsa", "")) if isinstance(t, dict) else "", b""))
    return out


__all__ = [
    "EVENT_KIND", "StampResult", "Token", "TokenCheck", "check_token", "load_roots", "request_token",
    "roots_pem", "stamp_head", "tokens_of", "tsa_urls",
]  # fmt: skip
