//! The gRPC port over TLS and mutual TLS, with certificates made for the test: the clients are built exactly as
//! the worker and `zkr-coordinator ctl` build theirs (`zkr_protos::ClientTls`).

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tonic::{Code, Request, Status};
use zkr_coordinator::{TlsFiles, store::Policy};
use zkr_protos::{
    ClientTls,
    v1::{self as pb, operator_client::OperatorClient},
};

use crate::grpc::{TOKEN, start_with_tls};

/// A CA, a certificate signed by it for `localhost` and 127.0.0.1 (the coordinator's), and one for a worker.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (ca_params, ca_key) = ca(dir.path(), "ca");
        let issuer = Issuer::new(ca_params, ca_key);
        leaf(dir.path(), "coordinator", &issuer, &["localhost", "127.0.0.1"]);
        leaf(dir.path(), "worker", &issuer, &["worker-1"]);
        // A certificate from a CA the cluster does not trust.
        let stranger = ca(dir.path(), "stranger-ca");
        leaf(dir.path(), "stranger", &Issuer::new(stranger.0, stranger.1), &["worker-x"]);
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn server(&self, mutual: bool) -> TlsFiles {
        TlsFiles {
            cert: self.path("coordinator.pem"),
            key: self.path("coordinator.key"),
            client_ca: mutual.then(|| self.path("ca.pem")),
        }
    }

    fn client(&self, identity: Option<&str>) -> ClientTls {
        ClientTls {
            ca: Some(self.path("ca.pem")),
            identity: identity.map(|name| (self.path(&format!("{name}.pem")), self.path(&format!("{name}.key")))),
            domain: None,
        }
    }
}

fn ca(dir: &Path, name: &str) -> (CertificateParams, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(rcgen::DnType::CommonName, format!("zkr test {name}"));
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
    (params, key)
}

fn leaf(dir: &Path, name: &str, issuer: &Issuer<'_, KeyPair>, names: &[&str]) {
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
    std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
}

fn with_token(mut request: Request<()>) -> Result<Request<()>, Status> {
    request.metadata_mut().insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    Ok(request)
}

/// Calls `Status` through a client with these TLS settings; the error's code when the call fails.
async fn status(url: &str, tls: &ClientTls) -> Result<pb::StatusResponse, Code> {
    let channel = tls.endpoint(url).unwrap().connect().await.map_err(|e| {
        eprintln!("connect to {url}: {e:?}");
        Code::Unavailable
    })?;
    let mut client = OperatorClient::with_interceptor(channel, with_token as fn(_) -> _);
    client.status(pb::StatusRequest {}).await.map(tonic::Response::into_inner).map_err(|e| {
        eprintln!("status from {url}: {e:?}");
        e.code()
    })
}

#[tokio::test]
async fn tls_serves_only_tls_clients_that_trust_its_ca() {
    let pki = Pki::new();
    let cluster = start_with_tls(Policy::default(), Some(pki.server(false).load().unwrap())).await;
    let https = format!("https://localhost:{}", cluster.addr.port());

    assert!(status(&https, &pki.client(None)).await.is_ok(), "a client trusting the CA");
    // The certificate names 127.0.0.1 too.
    assert!(status(&format!("https://{}", cluster.addr), &pki.client(None)).await.is_ok(), "by address");
    // Plaintext to a TLS port fails, as does a client that trusts another CA.
    assert!(status(&format!("http://{}", cluster.addr), &ClientTls::default()).await.is_err(), "plaintext");
    let distrustful = ClientTls { ca: Some(pki.path("stranger-ca.pem")), ..ClientTls::default() };
    assert!(status(&https, &distrustful).await.is_err(), "a client that trusts another CA");
    // A name the certificate does not carry is refused; `--tls.domain` tells the client which name to expect.
    let by_address = format!("https://{}", cluster.addr);
    let misnamed = ClientTls { domain: Some("coordinator.example".into()), ..pki.client(None) };
    assert!(status(&by_address, &misnamed).await.is_err(), "a name the certificate does not carry");
    let renamed = ClientTls { domain: Some("localhost".into()), ..pki.client(None) };
    assert!(status(&by_address, &renamed).await.is_ok(), "--tls.domain names the certificate's host");
    // TLS does not replace the token.
    let channel = pki.client(None).endpoint(&https).unwrap().connect().await.unwrap();
    let refused = OperatorClient::new(channel).status(pb::StatusRequest {}).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn mutual_tls_refuses_clients_without_a_certificate_from_the_cluster_ca() {
    let pki = Pki::new();
    let cluster = start_with_tls(Policy::default(), Some(pki.server(true).load().unwrap())).await;
    let https = format!("https://localhost:{}", cluster.addr.port());

    let status_ok = status(&https, &pki.client(Some("worker"))).await.expect("a worker with the cluster's certificate");
    assert!(status_ok.workers.is_empty());
    assert!(status(&https, &pki.client(None)).await.is_err(), "no client certificate");
    assert!(status(&https, &pki.client(Some("stranger"))).await.is_err(), "a certificate from another CA");
}

#[test]
fn missing_tls_files_are_named_in_the_error() {
    let files = TlsFiles { cert: "/nonexistent/cert.pem".into(), key: "/nonexistent/key.pem".into(), client_ca: None };
    let error = files.load().unwrap_err().to_string();
    assert!(error.contains("/nonexistent/cert.pem"), "{error}");
}
