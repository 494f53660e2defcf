//! Layered configuration: built-in defaults < `tongban.toml` < `TONGBAN_*` environment variables.
//!
//! Nested keys use a double underscore in the environment, e.g.
//! `TONGBAN_PASSWORD_POLICY__MIN_LENGTH=12`.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer};

/// All settings of one server process.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Address the HTTP server listens on.
    pub listen: String,
    /// Database URL (`sqlite://…` or `postgres://…`); defaults to a SQLite file in the data dir.
    pub database_url: Option<SecretString>,
    /// Directory for the SQLite database, generated keys and local files.
    pub data_dir: PathBuf,
    /// Create the demo college in an empty database on start.
    #[serde(deserialize_with = "lenient_bool")]
    pub demo: bool,
    /// HMAC key for access tokens; generated into `<data_dir>/jwt.key` when not given.
    pub jwt_secret: Option<SecretString>,
    /// Lifetime of access tokens in seconds.
    pub access_token_ttl_secs: i64,
    /// Lifetime of refresh tokens in days.
    pub refresh_token_ttl_days: i64,
    /// Origins allowed by CORS (empty: same origin only).
    pub cors_origins: Vec<String>,
    /// Addresses of reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<String>,
    /// Directory of the built SPA, served with a history fallback when it exists.
    pub frontend_dir: PathBuf,
    /// `text` or `json` log lines.
    pub log_format: String,
    /// Largest accepted JSON body in bytes.
    pub max_json_bytes: usize,
    /// Database pool size.
    pub db_max_connections: u32,
    /// Failed sign-in throttling.
    pub login_throttle: LoginThrottle,
    /// Password rules for new passwords.
    pub password_policy: PasswordPolicy,
    /// Where uploaded files are kept.
    pub storage: StorageSettings,
    /// Directory of the certificate signing keys (default `<data_dir>/signing`); every instance
    /// must see the same keys.
    pub signing_keys_dir: Option<PathBuf>,
    /// The address users reach the service hall at, for links in e-mails and pushes.
    pub public_url: String,
    /// E-mail delivery of notifications (off unless `smtp.host` is set).
    pub smtp: SmtpSettings,
    /// The push webhook that forwards notifications to the mobile app and WeChat template messages
    /// (off unless `push.url` is set).
    pub push: PushSettings,
    /// PDF rendering (certificates, archive summaries).
    pub pdf: PdfSettings,
    /// Electronic supervision (yellow and red cards, the violations register).
    pub supervision: SupervisionSettings,
    /// Request rate limits per signed-in user and per client address.
    pub rate_limit: RateLimitSettings,
    /// `tongban backup` and `tongban restore`.
    pub backup: BackupSettings,
    /// Alerts to the operators (off unless a recipient or a webhook is set).
    pub alerts: AlertSettings,
    /// Campus single sign-on (OpenID Connect, CAS), the local password login and administrators'
    /// second factor.
    pub sso: SsoSettings,
}

/// Campus sign-in: `TONGBAN_SSO__OIDC__ISSUER=https://id.example.edu.cn`,
/// `TONGBAN_SSO__CAS__BASE_URL=https://cas.example.edu.cn/cas`, `TONGBAN_SSO__PASSWORD_LOGIN=admins`,
/// `TONGBAN_SSO__ADMIN_TOTP=required`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SsoSettings {
    /// The campus OpenID provider (authorization code with PKCE S256); off unless set.
    pub oidc: Option<OidcSettings>,
    /// The campus CAS server (CAS 3.0, `/p3/serviceValidate`); off unless set.
    pub cas: Option<CasSettings>,
    /// Who may sign in with a local password: `everyone` (default) or `admins` (administrators
    /// only, everyone else through campus sign-in).
    pub password_login: PasswordLogin,
    /// Administrators' second factor: `optional` (default) or `required` (administrators'
    /// permissions need a sign-in with a TOTP code; MLPS 2.0 level 3).
    pub admin_totp: AdminTotp,
}

/// Who may use the local password login.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordLogin {
    /// Every account with a password.
    #[default]
    Everyone,
    /// Administrators only.
    Admins,
}

/// Whether administrators need a TOTP second factor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminTotp {
    /// Used when the administrator has enrolled.
    #[default]
    Optional,
    /// Administrators' permissions only in sessions signed in with a TOTP code.
    Required,
}

/// The campus OpenID provider.
#[derive(Debug, Clone, Deserialize)]
pub struct OidcSettings {
    /// Issuer URL; its `/.well-known/openid-configuration` is read at each sign-in.
    pub issuer: String,
    /// Client id registered at the provider.
    pub client_id: String,
    /// Client secret (sent with HTTP Basic to the token endpoint).
    pub client_secret: SecretString,
    /// Name on the sign-in button.
    #[serde(default = "default_oidc_name")]
    pub name: String,
    /// Scopes asked for.
    #[serde(default = "default_oidc_scopes")]
    pub scopes: Vec<String>,
    /// The ID-token claim holding the 学号 or 工号 the account is linked by.
    #[serde(default = "default_link_claim")]
    pub link_claim: String,
    /// Redirect URI registered at the provider (default `<public_url>/api/v1/auth/sso/oidc/callback`).
    #[serde(default)]
    pub redirect_uri: Option<String>,
}

/// The campus CAS server.
#[derive(Debug, Clone, Deserialize)]
pub struct CasSettings {
    /// Base URL (`<base_url>/login`, `<base_url>/p3/serviceValidate`).
    pub base_url: String,
    /// Name on the sign-in button.
    #[serde(default = "default_cas_name")]
    pub name: String,
    /// The attribute holding the 学号 or 工号 (default: the CAS user name itself).
    #[serde(default)]
    pub link_attribute: Option<String>,
}

fn default_oidc_name() -> String {
    "统一身份认证".into()
}

fn default_cas_name() -> String {
    "统一身份认证（CAS）".into()
}

fn default_oidc_scopes() -> Vec<String> {
    vec!["openid".into(), "profile".into()]
}

fn default_link_claim() -> String {
    "preferred_username".into()
}

/// Backups: `TONGBAN_BACKUP__PG_BIN_DIR=/usr/lib/postgresql/15/bin`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BackupSettings {
    /// Directory of `pg_dump` and `pg_restore` (default: found on `PATH`); their major version
    /// must be at least the server's.
    pub pg_bin_dir: Option<PathBuf>,
}

/// Alerts: `TONGBAN_ALERTS__EMAILS='["ops@example.edu.cn"]'`, `TONGBAN_ALERTS__WEBHOOK_URL=…`.
/// Each kind is raised at most once per window, whichever instance notices first.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AlertSettings {
    /// Recipients, by the SMTP settings of `smtp`.
    pub emails: Vec<String>,
    /// A URL the alert is POSTed to as JSON (signed like the push webhook when `webhook_secret`
    /// is set).
    pub webhook_url: Option<String>,
    /// Shared secret for `X-Tongban-Signature` on alert webhooks.
    pub webhook_secret: Option<SecretString>,
    /// Length of a window in minutes: an alert of one kind is sent at most once per window.
    pub window_minutes: u32,
    /// Alert when this many open tasks or affairs are overdue (0: never).
    pub overdue_threshold: u64,
    /// Alert when this many webhook deliveries wait (0: never).
    pub webhook_backlog_threshold: u64,
    /// Alert when background jobs fail for good (given up after their attempts).
    #[serde(deserialize_with = "lenient_bool")]
    pub job_failures: bool,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            emails: Vec::new(),
            webhook_url: None,
            webhook_secret: None,
            window_minutes: 60,
            overdue_threshold: 50,
            webhook_backlog_threshold: 200,
            job_failures: true,
        }
    }
}

/// Request rate limits, per instance: `TONGBAN_RATE_LIMIT__PER_USER_PER_MINUTE=600`. Signed-in
/// requests count against the user, anonymous ones against the client address (the forwarded one
/// behind a trusted proxy). 0 switches a limit off.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RateLimitSettings {
    /// Requests a minute per signed-in user.
    pub per_user_per_minute: u32,
    /// Requests a minute per client address, for requests without a valid token.
    pub per_ip_per_minute: u32,
    /// How many requests may come at once before the rate applies.
    pub burst: u32,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings { per_user_per_minute: 600, per_ip_per_minute: 3000, burst: 200 }
    }
}

/// Electronic supervision: `TONGBAN_SUPERVISION__YELLOW_AT_PERCENT=90`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SupervisionSettings {
    /// Share of a time limit, in percent of its working time, after which a yellow card is issued.
    pub yellow_at_percent: u8,
    /// Working days a task may stay overdue before it enters the violations register.
    pub violation_after_working_days: u32,
}

impl Default for SupervisionSettings {
    fn default() -> Self {
        SupervisionSettings { yellow_at_percent: 90, violation_after_working_days: 3 }
    }
}

/// PDF rendering: `TONGBAN_PDF__FALLBACK_FONT=/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PdfSettings {
    /// A font file for characters the shipped font (GB 2312) lacks, such as rare characters in
    /// names; an `.otf`, `.ttf` or `.ttc`.
    pub fallback_font: Option<PathBuf>,
    /// The face in a `.ttc` collection (2 is Simplified Chinese in Noto CJK collections).
    pub fallback_font_index: u32,
    /// Directory of seal images, `<name>.png`, named by a certificate type's `layout.seal`
    /// (default `<data_dir>/seals`); a drawn seal stands in for a missing one.
    pub seals_dir: Option<PathBuf>,
}

/// How mail leaves: `TONGBAN_SMTP__HOST=smtp.example.edu.cn`, `TONGBAN_SMTP__SECURITY=starttls`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SmtpSettings {
    /// Mail server host; empty turns e-mail off.
    pub host: Option<String>,
    /// Port (587 for STARTTLS, 465 for TLS, 25 for plain).
    pub port: u16,
    /// `starttls` (default), `tls` or `none` (a relay on the same host only).
    pub security: SmtpSecurity,
    /// Login user, when the server wants one.
    pub username: Option<String>,
    /// Login password.
    pub password: Option<SecretString>,
    /// Sender, e.g. `通办 <noreply@example.edu.cn>`.
    pub from: String,
}

/// Transport security towards the mail server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (required).
    Starttls,
    /// TLS from the first byte.
    Tls,
    /// No encryption: only for a relay on the same host.
    None,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        SmtpSettings {
            host: None,
            port: 587,
            security: SmtpSecurity::Starttls,
            username: None,
            password: None,
            from: "通办 <noreply@localhost>".into(),
        }
    }
}

/// The push webhook: each notification is POSTed as JSON, signed with HMAC-SHA256 of
/// `<timestamp>.<body>` in `X-Tongban-Signature: sha256=<hex>`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PushSettings {
    /// Receiver URL; empty turns pushes off.
    pub url: Option<String>,
    /// Shared secret for the signature.
    pub secret: Option<SecretString>,
}

/// Which object store holds uploaded files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    /// A directory on the local file system (`dir`, default `<data_dir>/files`).
    Fs,
    /// An S3-compatible store (MinIO, Ceph, cloud S3).
    S3,
}

/// Object-store settings (`TONGBAN_STORAGE__BACKEND=s3`, `TONGBAN_STORAGE__BUCKET=…`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct StorageSettings {
    /// `fs` (default) or `s3`.
    pub backend: StorageBackend,
    /// For `fs`: the directory (default `<data_dir>/files`).
    pub dir: Option<PathBuf>,
    /// For `s3`: the endpoint URL (empty for AWS itself).
    pub endpoint: Option<String>,
    /// For `s3`: the bucket.
    pub bucket: Option<String>,
    /// For `s3`: the region.
    pub region: String,
    /// For `s3`: the access key id.
    pub access_key_id: Option<String>,
    /// For `s3`: the secret key.
    pub secret_access_key: Option<SecretString>,
    /// For `s3`: allow a plain-HTTP endpoint (a store on the same host or network).
    #[serde(deserialize_with = "lenient_bool")]
    pub allow_http: bool,
    /// Largest uploaded file in bytes.
    pub max_file_bytes: usize,
}

impl Default for StorageSettings {
    fn default() -> Self {
        StorageSettings {
            backend: StorageBackend::Fs,
            dir: None,
            endpoint: None,
            bucket: None,
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
            allow_http: false,
            max_file_bytes: 20 * 1024 * 1024,
        }
    }
}

/// Limits on failed sign-ins within a sliding window.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LoginThrottle {
    /// Failures of one account within the window before it is locked for the rest of it.
    pub max_failures_per_account: u32,
    /// Failures from one client address within the window before it is locked.
    pub max_failures_per_ip: u32,
    /// Window length in seconds.
    pub window_secs: i64,
}

/// Which rule set a password policy starts from; explicit keys override it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PasswordStyle {
    /// 等保 2.0 (MLPS) practice: at least 8 characters of three of the four classes, not containing
    /// the username, not a common password.
    #[default]
    Mlps,
    /// OWASP ASVS 4 (V2.1): at least 12 characters, no composition rules, not a common password.
    Asvs,
}

/// What a new password must satisfy: `style` (`mlps`, the default, or `asvs`) sets the defaults,
/// and any key set explicitly overrides it (`TONGBAN_PASSWORD_POLICY__STYLE=asvs`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PasswordPolicy {
    /// The rule set the other keys default to.
    pub style: PasswordStyle,
    /// Minimum length in characters (mlps 8, asvs 12).
    pub min_length: Option<usize>,
    /// Maximum length in characters (argon2 cost is bounded by it; 128).
    pub max_length: Option<usize>,
    /// How many of the classes lower, upper, digit, symbol a password must contain (mlps 3, asvs 0).
    pub min_classes: Option<usize>,
    /// Refuse passwords that contain the username (both styles).
    #[serde(deserialize_with = "lenient_opt_bool")]
    pub forbid_username: Option<bool>,
    /// Refuse the shipped list of common passwords (`assets/passwords/common.txt`; both styles).
    #[serde(deserialize_with = "lenient_opt_bool")]
    pub forbid_common: Option<bool>,
}

impl PasswordPolicy {
    /// The effective minimum length.
    pub fn min_length(&self) -> usize {
        self.min_length.unwrap_or(match self.style {
            PasswordStyle::Mlps => 8,
            PasswordStyle::Asvs => 12,
        })
    }

    /// The effective maximum length.
    pub fn max_length(&self) -> usize {
        self.max_length.unwrap_or(128)
    }

    /// The effective number of character classes required.
    pub fn min_classes(&self) -> usize {
        self.min_classes.unwrap_or(match self.style {
            PasswordStyle::Mlps => 3,
            PasswordStyle::Asvs => 0,
        })
    }

    /// Whether the username may not appear in the password.
    pub fn forbid_username(&self) -> bool {
        self.forbid_username.unwrap_or(true)
    }

    /// Whether common passwords are refused.
    pub fn forbid_common(&self) -> bool {
        self.forbid_common.unwrap_or(true)
    }
}

fn lenient_opt_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    lenient_bool(d).map(Some)
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".into(),
            database_url: None,
            data_dir: PathBuf::from("./data"),
            demo: false,
            jwt_secret: None,
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_days: 14,
            cors_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            frontend_dir: PathBuf::from("./frontend/dist"),
            log_format: "text".into(),
            max_json_bytes: 1024 * 1024,
            db_max_connections: 16,
            login_throttle: LoginThrottle::default(),
            password_policy: PasswordPolicy::default(),
            storage: StorageSettings::default(),
            signing_keys_dir: None,
            public_url: "http://127.0.0.1:8080".into(),
            smtp: SmtpSettings::default(),
            push: PushSettings::default(),
            pdf: PdfSettings::default(),
            supervision: SupervisionSettings::default(),
            rate_limit: RateLimitSettings::default(),
            backup: BackupSettings::default(),
            alerts: AlertSettings::default(),
            sso: SsoSettings::default(),
        }
    }
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle { max_failures_per_account: 5, max_failures_per_ip: 30, window_secs: 15 * 60 }
    }
}

impl Settings {
    /// Load settings from defaults, the TOML file (`TONGBAN_CONFIG` or `./tongban.toml`) and the environment.
    pub fn load() -> Result<Settings, Box<figment::Error>> {
        let file = std::env::var("TONGBAN_CONFIG").unwrap_or_else(|_| "tongban.toml".into());
        Self::load_from(Path::new(&file))
    }

    /// Load settings with an explicit TOML file path (missing file is fine).
    pub fn load_from(file: &Path) -> Result<Settings, Box<figment::Error>> {
        // Defaults come from `#[serde(default)]` on every settings struct.
        Figment::new()
            .merge(Toml::file(file))
            .merge(Env::prefixed("TONGBAN_").ignore(&["CONFIG"]).split("__"))
            .extract()
            .map_err(Box::new)
    }

    /// The directory of the certificate signing keys in force.
    pub fn signing_keys_dir(&self) -> PathBuf {
        self.signing_keys_dir.clone().unwrap_or_else(|| self.data_dir.join("signing"))
    }

    /// The directory of seal images in force.
    pub fn seals_dir(&self) -> PathBuf {
        self.pdf.seals_dir.clone().unwrap_or_else(|| self.data_dir.join("seals"))
    }

    /// The PDF fonts: the shipped one and the configured fallback.
    pub fn pdf_fonts(&self) -> anyhow::Result<crate::pdf::Fonts> {
        crate::pdf::Fonts::load(self.pdf.fallback_font.as_deref().map(|p| (p, self.pdf.fallback_font_index)))
    }

    /// The database URL in force: the configured one, or the SQLite file in the data dir.
    pub fn database_url(&self) -> String {
        use secrecy::ExposeSecret;
        match &self.database_url {
            Some(url) => url.expose_secret().to_owned(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("tongban.db").display()),
        }
    }
}

/// Booleans as people write them in environment variables: `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`.
fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Int(i64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Bool(b) => Ok(b),
        Raw::Int(0) => Ok(false),
        Raw::Int(1) => Ok(true),
        Raw::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" | "" => Ok(false),
            other => Err(serde::de::Error::custom(format!("expected a boolean, found `{other}`"))),
        },
        Raw::Int(n) => Err(serde::de::Error::custom(format!("expected a boolean, found `{n}`"))),
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error.
mod tests {
    use super::*;

    #[test]
    fn defaults_then_file_then_environment() {
        figment::Jail::expect_with(|jail| {
            let s = Settings::load_from(Path::new("missing.toml")).map_err(|e| e.to_string())?;
            assert_eq!(s.listen, "127.0.0.1:8080");
            assert!(!s.demo);
            assert!(s.database_url().starts_with("sqlite://./data/tongban.db"), "{}", s.database_url());

            jail.create_file(
                "tongban.toml",
                "listen = \"0.0.0.0:9000\"\ndemo = true\n[password_policy]\nmin_length = 12\n",
            )?;
            let s = Settings::load_from(Path::new("tongban.toml")).map_err(|e| e.to_string())?;
            assert_eq!(s.listen, "0.0.0.0:9000");
            assert!(s.demo);
            assert_eq!(s.password_policy.min_length(), 12);
            assert_eq!(s.password_policy.min_classes(), 3, "unset nested keys keep their defaults");

            jail.set_env("TONGBAN_LISTEN", "127.0.0.1:7000");
            jail.set_env("TONGBAN_DEMO", "0");
            jail.set_env("TONGBAN_PASSWORD_POLICY__MIN_LENGTH", "16");
            jail.set_env("TONGBAN_DATABASE_URL", "postgres://u:secret@h/db");
            let s = Settings::load_from(Path::new("tongban.toml")).map_err(|e| e.to_string())?;
            assert_eq!(s.listen, "127.0.0.1:7000");
            assert!(!s.demo, "environment beats the file");
            assert_eq!(s.password_policy.min_length(), 16);
            jail.set_env("TONGBAN_PASSWORD_POLICY__STYLE", "asvs");
            let s = Settings::load_from(Path::new("tongban.toml")).map_err(|e| e.to_string())?;
            assert_eq!(s.password_policy.min_length(), 16, "an explicit key beats the style");
            assert_eq!(s.password_policy.min_classes(), 0, "ASVS sets no composition rules");
            jail.set_env("TONGBAN_PASSWORD_POLICY__STYLE", "nist");
            assert!(Settings::load_from(Path::new("tongban.toml")).is_err(), "an unknown style is refused");
            jail.set_env("TONGBAN_PASSWORD_POLICY__STYLE", "mlps");
            assert_eq!(s.database_url(), "postgres://u:secret@h/db");
            assert!(!format!("{s:?}").contains("secret@"), "secrets are redacted in Debug output");

            jail.set_env("TONGBAN_DEMO", "maybe");
            assert!(Settings::load_from(Path::new("tongban.toml")).is_err());
            Ok(())
        });
    }

    #[test]
    fn booleans_parse_leniently() {
        for (text, want) in [("1", true), ("true", true), ("yes", true), ("on", true), ("0", false), ("off", false)] {
            figment::Jail::expect_with(|jail| {
                jail.set_env("TONGBAN_DEMO", text);
                let s = Settings::load_from(Path::new("none.toml")).map_err(|e| e.to_string())?;
                assert_eq!(s.demo, want, "{text}");
                Ok(())
            });
        }
    }
}
