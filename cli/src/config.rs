//! One configuration style for every binary: defaults < TOML file < `ZKR_<BINARY>_*` environment < flags.
//!
//! ```text
//! TOML key path     l1.rpc_url
//! flag              --l1.rpc-url            (sections joined by `.`, `_` written `-`)
//! environment       ZKR_COORDINATOR_L1__RPC_URL   (the binary's prefix, sections joined by `__`)
//! ```
//!
//! Binaries keep their settings in a `#[serde(default, deny_unknown_fields)]` struct whose `Default` is a working
//! local set-up, so a misspelt key in the file or in the environment is an error that names it, not a silent default.

use std::path::Path;

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
    value::Value,
};
use serde::{Serialize, de::DeserializeOwned};

/// A configuration that could not be read: the file, the variable or the flag, and the key at fault.
pub type ConfigError = Box<figment::Error>;

/// Flags given on the command line, by TOML key path; flags left out are not set, so they override nothing.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    values: Vec<(&'static str, Value)>,
}

impl Overrides {
    /// No flags.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` (a TOML key path such as `grpc.addr`) when the flag was given.
    pub fn set<V: Serialize>(mut self, key: &'static str, value: Option<V>) -> Self {
        if let Some(value) = value {
            // A value that does not serialize (a map with non-string keys) is a programming error in the binary.
            let value = Value::serialize(value).unwrap_or_else(|e| panic!("flag {key} does not serialize: {e}"));
            self.values.push((key, value));
        }
        self
    }

    /// Sets `key` to `true` when a boolean flag was given; an absent flag leaves the file's value.
    pub fn flag(self, key: &'static str, given: bool) -> Self {
        self.set(key, given.then_some(true))
    }
}

/// Reads `T`: its defaults, then `file` (which must exist when named), then the variables starting with
/// `env_prefix` (for example `ZKR_NODE_`; `__` separates sections), then `flags`.
pub fn load<T>(file: Option<&Path>, env_prefix: &str, flags: Overrides) -> Result<T, ConfigError>
where
    T: Default + Serialize + DeserializeOwned,
{
    let mut figment = Figment::from(Serialized::defaults(T::default()));
    if let Some(file) = file {
        figment = figment.merge(Toml::file_exact(file));
    }
    figment = figment.merge(Env::prefixed(env_prefix).filter(|key| !is_service_link(key.as_str())).split("__"));
    for (key, value) in flags.values {
        figment = figment.merge(Serialized::default(key, value));
    }
    figment.extract().map_err(Box::new)
}

/// `[auth]` of the proving cluster's binaries: the bearer token every gRPC call carries, given directly (better as an
/// environment variable than in a file others read) or in a file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSection {
    /// The token itself.
    pub token: Option<String>,
    /// A file holding the token.
    pub token_file: Option<std::path::PathBuf>,
}

/// Whether an environment key (the prefix removed) is one of the variables Kubernetes and docker links define for a
/// service: a Service named `zkr-coordinator` gives every pod of its namespace `ZKR_COORDINATOR_PORT`,
/// `ZKR_COORDINATOR_SERVICE_HOST`, `ZKR_COORDINATOR_PORT_50051_TCP_ADDR` and the like. They are not settings, and no
/// setting has a `port` word, so they are left out rather than refused as unknown keys.
fn is_service_link(key: &str) -> bool {
    let words: Vec<String> = key.split('_').map(str::to_ascii_lowercase).collect();
    words.iter().any(|word| word == "port")
        || words.windows(2).any(|pair| pair[0] == "service" && (pair[1] == "host" || pair[1] == "port"))
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Settings {
        name: String,
        l1: L1,
        grpc: Grpc,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct L1 {
        rpc_url: String,
        confirmations: u64,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Grpc {
        addr: SocketAddr,
    }

    impl Default for Settings {
        fn default() -> Self {
            Self { name: "local".into(), l1: L1::default(), grpc: Grpc::default() }
        }
    }

    impl Default for L1 {
        fn default() -> Self {
            Self { rpc_url: "http://127.0.0.1:8545".into(), confirmations: 0 }
        }
    }

    impl Default for Grpc {
        fn default() -> Self {
            Self { addr: ([127, 0, 0, 1], 50051).into() }
        }
    }

    fn write(dir: &Path, toml: &str) -> std::path::PathBuf {
        let path = dir.join("settings.toml");
        std::fs::write(&path, toml).unwrap();
        path
    }

    // Each test uses its own prefix: the environment is shared by the tests of this process.

    #[test]
    fn defaults_file_environment_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "name = \"file\"\n[l1]\nrpc_url = \"http://file:8545\"\nconfirmations = 3\n");
        let loaded: Settings = load(None, "ZKR_CLI_TEST_A_", Overrides::new()).unwrap();
        assert_eq!(loaded, Settings::default());

        let loaded: Settings = load(Some(&file), "ZKR_CLI_TEST_A_", Overrides::new()).unwrap();
        assert_eq!(loaded.l1, L1 { rpc_url: "http://file:8545".into(), confirmations: 3 });
        assert_eq!(loaded.grpc, Grpc::default(), "keys the file leaves out keep their defaults");

        // SAFETY: no other test reads or writes this variable.
        unsafe { std::env::set_var("ZKR_CLI_TEST_A_L1__RPC_URL", "http://env:8545") };
        let loaded: Settings = load(Some(&file), "ZKR_CLI_TEST_A_", Overrides::new()).unwrap();
        assert_eq!(loaded.l1, L1 { rpc_url: "http://env:8545".into(), confirmations: 3 });

        let flags = Overrides::new()
            .set("l1.rpc_url", Some("http://flag:8545"))
            .set("grpc.addr", Some("0.0.0.0:1".parse::<SocketAddr>().unwrap()))
            .set::<String>("name", None);
        let loaded: Settings = load(Some(&file), "ZKR_CLI_TEST_A_", flags).unwrap();
        assert_eq!(loaded.l1, L1 { rpc_url: "http://flag:8545".into(), confirmations: 3 }, "a flag sets one key");
        assert_eq!(loaded.grpc.addr, "0.0.0.0:1".parse().unwrap());
        assert_eq!(loaded.name, "file", "an absent flag overrides nothing");
    }

    #[test]
    fn unknown_keys_are_errors_that_name_them() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "[l1]\nrpc = \"http://file:8545\"\n");
        let err = load::<Settings>(Some(&file), "ZKR_CLI_TEST_B_", Overrides::new()).unwrap_err();
        assert!(err.to_string().contains("rpc"), "{err}");

        // SAFETY: no other test reads or writes this variable.
        unsafe { std::env::set_var("ZKR_CLI_TEST_C_GRPC__ADDRESS", "0.0.0.0:1") };
        let err = load::<Settings>(None, "ZKR_CLI_TEST_C_", Overrides::new()).unwrap_err();
        assert!(err.to_string().contains("address"), "{err}");
    }

    #[test]
    fn service_link_variables_are_not_settings() {
        // SAFETY: no other test reads or writes these variables.
        unsafe {
            std::env::set_var("ZKR_CLI_TEST_E_PORT", "tcp://10.0.0.1:50051");
            std::env::set_var("ZKR_CLI_TEST_E_PORT_50051_TCP_ADDR", "10.0.0.1");
            std::env::set_var("ZKR_CLI_TEST_E_SERVICE_HOST", "10.0.0.1");
            std::env::set_var("ZKR_CLI_TEST_E_SERVICE_PORT_GRPC", "50051");
            std::env::set_var("ZKR_CLI_TEST_E_GPU_SERVICE_PORT", "9103");
            std::env::set_var("ZKR_CLI_TEST_E_NAME", "from-env");
        }
        let loaded: Settings = load(None, "ZKR_CLI_TEST_E_", Overrides::new()).unwrap();
        assert_eq!(loaded.name, "from-env");
        assert!(!is_service_link("l1__rpc_url") && !is_service_link("portal") && !is_service_link("name"));
    }

    #[test]
    fn a_named_file_must_exist_and_parse() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.toml");
        let err = load::<Settings>(Some(&missing), "ZKR_CLI_TEST_D_", Overrides::new()).unwrap_err();
        assert!(err.to_string().contains("missing.toml"), "{err}");
        let bad = write(dir.path(), "[l1\n");
        assert!(load::<Settings>(Some(&bad), "ZKR_CLI_TEST_D_", Overrides::new()).is_err());
        let wrong_type = write(dir.path(), "[l1]\nconfirmations = \"many\"\n");
        let err = load::<Settings>(Some(&wrong_type), "ZKR_CLI_TEST_D_", Overrides::new()).unwrap_err();
        assert!(err.to_string().contains("confirmations"), "{err}");
    }
}
