//! Who is calling: SigV4 verification of requests against a file of access keys.
//!
//! The server verifies AWS Signature Version 4 itself (the `aws-sigv4` crate can only sign): it
//! rebuilds the canonical request over the headers the client says it signed, hashes the body it
//! actually received (never trusting `x-amz-content-sha256`), derives the signing key for the
//! request's credential scope, and compares signatures in constant time. A request dated more than
//! 15 minutes from the server's clock is refused.

use std::time::SystemTime;

use axum::http::{HeaderMap, Method, Uri};
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};
use strongroom::{Principal, Region};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use time::macros::format_description;
use zeroize::Zeroizing;

use super::{Credentials, MAX_CLOCK_SKEW, SERVICE, SINGLE_HEADERS, SigningKey};
use crate::error::ApiError;

/// A request's SigV4 authorization header, parsed.
struct Authorization<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn incomplete(message: impl Into<String>) -> ApiError {
    ApiError::client("IncompleteSignatureException", message)
}

fn invalid_signature(message: impl Into<String>) -> ApiError {
    ApiError::client("InvalidSignatureException", message)
}

/// The access key id a request claims in its `Authorization` header, verified or not (for the
/// audit log's record of a refused request): at most 128 printable characters.
pub(crate) fn claimed_access_key(headers: &HeaderMap) -> Option<String> {
    let header = headers.get("authorization")?.to_str().ok()?;
    let params = header.strip_prefix("AWS4-HMAC-SHA256")?;
    let credential = params
        .split(',')
        .find_map(|p| p.trim().strip_prefix("Credential="))?;
    let id = credential.split('/').next()?;
    (!id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_graphic()))
        .then(|| id.to_owned())
}

fn parse_authorization(header: &str) -> Result<Authorization<'_>, ApiError> {
    let Some(params) = header.strip_prefix("AWS4-HMAC-SHA256") else {
        return Err(incomplete(
            "Unsupported authorization type: only AWS4-HMAC-SHA256 (SigV4) is accepted.",
        ));
    };
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in params.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed_headers = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let mut missing = Vec::new();
    for (name, value) in [
        ("Credential", credential),
        ("Signature", signature),
        ("SignedHeaders", signed_headers),
    ] {
        if value.is_none_or(str::is_empty) {
            missing.push(format!("Authorization header requires '{name}' parameter."));
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(incomplete(missing.join(" ")));
    };
    if !missing.is_empty() {
        return Err(incomplete(missing.join(" ")));
    }
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = parts.as_slice() else {
        return Err(incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"
        )));
    };
    if *terminator != "aws4_request" {
        return Err(incomplete(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'."
        )));
    }
    Ok(Authorization {
        access_key_id,
        date,
        region,
        service,
        signed_headers,
        signature,
    })
}

/// The region of the request's credential scope, without verifying anything (authentication
/// off). `None` when there is no readable SigV4 header.
pub(crate) fn scope_region(headers: &HeaderMap) -> Option<String> {
    let header = headers.get("authorization")?.to_str().ok()?;
    parse_authorization(header)
        .ok()
        .map(|a| a.region.to_owned())
}

/// What a verified request established.
pub(crate) struct Verified {
    pub(crate) principal: Principal,
    pub(crate) region: String,
}

/// Verifies a request's SigV4 signature.
pub(crate) fn verify(
    creds: &Credentials,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Result<Verified, ApiError> {
    let Some(header) = headers.get("authorization") else {
        return Err(ApiError::client(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ));
    };
    let header = header
        .to_str()
        .map_err(|_| incomplete("The Authorization header is not valid ASCII."))?;
    let auth = parse_authorization(header)?;

    let Some(amz_date) = headers.get("x-amz-date") else {
        return Err(incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        ));
    };
    let amz_date = amz_date
        .to_str()
        .map_err(|_| incomplete("X-Amz-Date is not valid ASCII."))?;
    let signed_at = parse_amz_date(amz_date).ok_or_else(|| {
        incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
        ))
    })?;
    check_skew(amz_date, signed_at, now)?;
    if !amz_date.starts_with(auth.date) || auth.date.len() != 8 {
        return Err(invalid_signature(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
            auth.date,
            amz_date.get(..8).unwrap_or(amz_date)
        )));
    }
    if auth.service != SERVICE {
        return Err(invalid_signature(format!(
            "Credential should be scoped to correct service: '{SERVICE}'."
        )));
    }
    if Region::new(auth.region).is_err() {
        return Err(invalid_signature(
            "Credential should be scoped to a valid region.",
        ));
    }
    for name in SINGLE_HEADERS {
        if headers.get_all(*name).iter().count() > 1 {
            return Err(incomplete(format!(
                "The request has more than one '{name}' header."
            )));
        }
    }
    let signed: Vec<&str> = auth.signed_headers.split(';').collect();
    if !signed.contains(&"host") {
        return Err(invalid_signature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    // Every header that changes what the request means must be signed, or a captured request
    // could be replayed as another operation (`x-amz-target`) within its 15 minutes.
    for name in headers.keys() {
        let name = name.as_str();
        let must_sign = name == "content-type"
            || (name.starts_with("x-amz-") && name != "x-amz-content-sha256");
        if must_sign && !signed.contains(&name) {
            return Err(invalid_signature(format!(
                "'{name}' must be a 'SignedHeader' in the AWS Authorization."
            )));
        }
    }

    let Some(key) = creds.keys.get(auth.access_key_id) else {
        return Err(ApiError::client(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ));
    };

    let body_hash = hex::encode(Sha256::digest(body));
    if let Some(claimed) = headers.get("x-amz-content-sha256")
        && claimed.as_bytes() != body_hash.as_bytes()
    {
        return Err(invalid_signature(
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        ));
    }
    let canonical = canonical_request(
        method,
        uri,
        headers,
        &signed,
        auth.signed_headers,
        &body_hash,
    )
    .ok_or_else(|| incomplete("A signed header is not valid UTF-8."))?;
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let (signing_key, cached) =
        creds.signing_key(auth.access_key_id, &key.secret, auth.date, auth.region);
    let expected = hex::encode(hmac(&signing_key, string_to_sign.as_bytes()).as_slice());
    let given = auth.signature.as_bytes();
    if given.len() != expected.len() || !bool::from(given.ct_eq(expected.as_bytes())) {
        return Err(invalid_signature(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ));
    }
    // Only a key that produced a valid signature is kept, so callers without the secret key
    // cannot fill the cache.
    if !cached {
        creds.remember_signing_key(auth.access_key_id, auth.date, auth.region, signing_key);
    }
    Ok(Verified {
        principal: key.principal.clone(),
        region: auth.region.to_owned(),
    })
}

fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    let t = time::PrimitiveDateTime::parse(s, format).ok()?;
    Some(SystemTime::from(t.assume_utc()))
}

fn amz_date(t: SystemTime) -> String {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    OffsetDateTime::from(t)
        .format(format)
        .unwrap_or_else(|_| "?".to_owned())
}

fn check_skew(given: &str, signed_at: SystemTime, now: SystemTime) -> Result<(), ApiError> {
    if signed_at + MAX_CLOCK_SKEW < now {
        return Err(invalid_signature(format!(
            "Signature expired: {given} is now earlier than {} ({} - 15 min.)",
            amz_date(now - MAX_CLOCK_SKEW),
            amz_date(now)
        )));
    }
    if signed_at > now + MAX_CLOCK_SKEW {
        return Err(invalid_signature(format!(
            "Signature not yet current: {given} is still later than {} ({} + 15 min.)",
            amz_date(now + MAX_CLOCK_SKEW),
            amz_date(now)
        )));
    }
    Ok(())
}

/// Characters SigV4 leaves unencoded: `A-Z a-z 0-9 - _ . ~`.
const SIGV4: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn canonical_request(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    signed: &[&str],
    signed_headers: &str,
    body_hash: &str,
) -> Option<String> {
    // The path as sent, each segment encoded once more (SigV4 for every service but S3).
    let path = uri.path();
    let path = if path.is_empty() { "/" } else { path };
    let canonical_path: Vec<String> = path
        .split('/')
        .map(|seg| utf8_percent_encode(seg, SIGV4).to_string())
        .collect();
    let mut query: Vec<(String, String)> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let enc = |s: &str| {
                let decoded = percent_decode_str(&s.replace('+', "%20"))
                    .decode_utf8_lossy()
                    .into_owned();
                utf8_percent_encode(&decoded, SIGV4).to_string()
            };
            (enc(k), enc(v))
        })
        .collect();
    query.sort();
    let query: Vec<String> = query.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut out = format!(
        "{method}\n{}\n{}\n",
        canonical_path.join("/"),
        query.join("&")
    );
    for name in signed {
        let mut values = Vec::new();
        for v in headers.get_all(*name) {
            // Trim, and collapse runs of spaces, as SigV4 says (other bytes are kept as sent).
            let v = std::str::from_utf8(v.as_bytes()).ok()?.trim();
            let mut collapsed = String::with_capacity(v.len());
            let mut last_space = false;
            for c in v.chars() {
                if c == ' ' && last_space {
                    continue;
                }
                last_space = c == ' ';
                collapsed.push(c);
            }
            values.push(collapsed);
        }
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(signed_headers);
    out.push('\n');
    out.push_str(body_hash);
    Some(out)
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &[u8]) -> Zeroizing<Vec<u8>> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    Zeroizing::new(mac.finalize().into_bytes().to_vec())
}

pub(super) fn derive_signing_key(
    secret: &str,
    date: &str,
    region: &str,
    service: &str,
) -> SigningKey {
    let seed = Zeroizing::new(format!("AWS4{secret}"));
    let k_date = hmac(seed.as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The worked example of the AWS SigV4 documentation (IAM `ListUsers`, 2015-08-30).
    fn signature(secret: &str, date: &str, region: &str, service: &str, sts: &str) -> String {
        let k_signing = derive_signing_key(secret, date, region, service);
        hex::encode(hmac(&k_signing, sts.as_bytes()).as_slice())
    }

    #[test]
    fn derives_the_documented_signature() {
        let sts = "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\nf536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59";
        let sig = signature(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20150830",
            "us-east-1",
            "iam",
            sts,
        );
        assert_eq!(
            sig,
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    #[test]
    fn canonical_request_matches_the_documented_one() {
        let uri: Uri = "/?Action=ListUsers&Version=2010-05-08".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .unwrap(),
        );
        headers.insert("host", "iam.amazonaws.com".parse().unwrap());
        headers.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        let signed = "content-type;host;x-amz-date";
        let names: Vec<&str> = signed.split(';').collect();
        let c = canonical_request(
            &Method::GET,
            &uri,
            &headers,
            &names,
            signed,
            &hex::encode(Sha256::digest(b"")),
        )
        .unwrap();
        assert_eq!(
            hex::encode(Sha256::digest(c.as_bytes())),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
    }

    /// A ListSecrets request signed by the `aws-sigv4` crate, as the verifier receives it.
    fn signed_request(
        secret: &str,
        region: &str,
        now: SystemTime,
    ) -> (Method, Uri, HeaderMap, Vec<u8>) {
        let body = b"{}".to_vec();
        let mut request = http::Request::post("/")
            .header("host", "127.0.0.1:7320")
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", "secretsmanager.ListSecrets")
            .body(body.clone())
            .unwrap();
        let identity: aws_smithy_runtime_api::client::identity::Identity =
            aws_credential_types::Credentials::new("AKID", secret, None, None, "unit").into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name(SERVICE)
            .time(now)
            .settings(aws_sigv4::http_request::SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let headers: Vec<(&str, &str)> = request
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_str().unwrap()))
            .collect();
        let signable = aws_sigv4::http_request::SignableRequest::new(
            "POST",
            "/",
            headers.into_iter(),
            aws_sigv4::http_request::SignableBody::Bytes(&body),
        )
        .unwrap();
        let (instructions, _) = aws_sigv4::http_request::sign(signable, &params)
            .unwrap()
            .into_parts();
        instructions.apply_to_request_http1x(&mut request);
        let (parts, body) = request.into_parts();
        (parts.method, parts.uri, parts.headers, body)
    }

    #[test]
    fn only_a_verified_signature_fills_the_signing_key_cache() {
        let creds = Credentials::new().with_key("AKID", "the-secret", Principal::system());
        let cached = || creds.signing_keys.lock().unwrap().len();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000);
        let verify_with = |secret: &str, region: &str| {
            let (method, uri, headers, body) = signed_request(secret, region, now);
            verify(&creds, &method, &uri, &headers, &body, now).map(|v| v.region)
        };

        // Wrong secret keys, each in another region: refused, and nothing kept.
        for region in ["us-east-1", "eu-west-1", "ap-south-1"] {
            let err = verify_with("not-the-secret", region).unwrap_err();
            assert_eq!(err.code, "InvalidSignatureException");
        }
        assert_eq!(cached(), 0);
        // Regions that cannot exist: refused before any key is derived, even with the right key.
        for region in ["Not_A_Region", &"a".repeat(300)] {
            let err = verify_with("the-secret", region).unwrap_err();
            assert_eq!(
                err.message,
                "Credential should be scoped to a valid region."
            );
        }
        assert_eq!(cached(), 0);

        // A valid signature keeps its key, once.
        assert_eq!(verify_with("the-secret", "us-east-1").unwrap(), "us-east-1");
        assert_eq!(cached(), 1);
        assert_eq!(verify_with("the-secret", "us-east-1").unwrap(), "us-east-1");
        assert_eq!(cached(), 1);
        // A cached key does not let a wrong secret through.
        let err = verify_with("not-the-secret", "us-east-1").unwrap_err();
        assert_eq!(err.code, "InvalidSignatureException");
        assert_eq!(cached(), 1);
    }
}
