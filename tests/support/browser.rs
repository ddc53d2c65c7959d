//! A real headless Chromium driven over WebDriver, for the browser tests.
//!
//! Each `Browser` starts its own `chromedriver` on a free port with a fresh
//! Chromium profile, so tests run in parallel and share nothing. Every
//! failure from a helper (or from `check`) carries the page's URL and the
//! path of a screenshot saved under `target/e2e-screens/`.
//!
//! Chromium is Debian's (`/usr/bin/chromium`, `/usr/bin/chromedriver`);
//! `deploy/local/lib.sh`'s `ensure_infra` installs both. The machine has no
//! network, so the flags below turn off everything that would phone home.

use crate::ports::free_port;
use anyhow::{anyhow, bail, Context, Result};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Where Debian puts Chromium and its driver.
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The session cookie the gateway sets at sign-in.
pub const SESSION_COOKIE: &str = "bf_session";

/// How often the `wait_*` helpers look again.
const POLL: Duration = Duration::from_millis(100);

/// A narrow phone screen, for the small-screen checks.
pub const NARROW: (u32, u32) = (390, 844);
/// The default window.
pub const WIDE: (u32, u32) = (1280, 800);

/// An HTTP answer fetched with the browser's session cookie.
#[derive(Debug)]
pub struct Fetched {
    pub status: reqwest::StatusCode,
    pub content_type: String,
    pub text: String,
}

/// One Chromium, its chromedriver and its profile directory.
pub struct Browser {
    pub client: Client,
    base: String,
    label: String,
    shots: AtomicUsize,
    driver: Child,
    /// The Chromium profile and the driver's log; removed on a clean drop.
    dir: PathBuf,
    http: reqwest::Client,
}

/// `target/`, found from the test binary (`target/debug/deps/<test>`).
fn target_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")))
}

/// Where failure (and on-demand) screenshots go.
pub fn screens_dir() -> PathBuf {
    target_dir().join("e2e-screens")
}

fn slug(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    out.truncate(60);
    out.trim_matches('-').to_string()
}

/// The Chromium capabilities: headless, no sandbox (we run as root in a
/// container), and nothing that reaches the network on its own.
fn capabilities(profile: &Path) -> serde_json::Map<String, Value> {
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                format!("--user-data-dir={}", profile.display()),
                format!("--window-size={},{}", WIDE.0, WIDE.1),
            ],
        },
    });
    match caps {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

impl Browser {
    /// Starts chromedriver and a Chromium session against `base` (the
    /// gateway's URL). `label` names this browser's screenshots; the test's
    /// name is a good choice.
    pub async fn start(base: &str, label: &str) -> Result<Browser> {
        for exe in [CHROMIUM, CHROMEDRIVER] {
            if !Path::new(exe).exists() {
                bail!("{exe} is missing: run deploy/local/up (ensure_infra installs chromium and chromium-driver)");
            }
        }
        let dir =
            std::env::temp_dir().join(format!("bf-e2e-browser-{}", uuid::Uuid::new_v4().simple()));
        let profile = dir.join("profile");
        std::fs::create_dir_all(&profile)?;
        let port = free_port()?;
        let log = std::fs::File::create(dir.join("chromedriver.log"))?;
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting chromedriver")?;
        // From here on, Drop cleans up whatever happens.
        let mut pending = Pending {
            driver: Some(driver),
            dir: dir.clone(),
        };

        let webdriver = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let mut ready = false;
        for _ in 0..200 {
            if let Ok(r) = http.get(format!("{webdriver}/status")).send().await {
                if r.status().is_success() {
                    ready = true;
                    break;
                }
            }
            tokio::time::sleep(POLL).await;
        }
        if !ready {
            bail!(
                "chromedriver did not answer on port {port}; log:\n{}",
                std::fs::read_to_string(dir.join("chromedriver.log")).unwrap_or_default()
            );
        }
        // Two TLS back ends are compiled into the workspace (the gateway's
        // reqwest uses ring, fantoccini's hyper-rustls defaults to aws-lc-rs),
        // so rustls cannot pick one by itself: name it once per process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = ClientBuilder::rustls()
            .context("building the WebDriver HTTP client")?
            .capabilities(capabilities(&profile))
            .connect(&webdriver)
            .await
            .map_err(|e| {
                anyhow!(
                    "starting Chromium through chromedriver: {e}; log:\n{}",
                    std::fs::read_to_string(dir.join("chromedriver.log")).unwrap_or_default()
                )
            })?;
        let driver = pending
            .driver
            .take()
            .ok_or_else(|| anyhow!("driver gone"))?;
        drop(pending);
        Ok(Browser {
            client,
            base: base.trim_end_matches('/').to_string(),
            label: slug(label),
            shots: AtomicUsize::new(0),
            driver,
            dir,
            http,
        })
    }

    /// Ends the WebDriver session (Chromium quits), then the driver.
    pub async fn close(self) -> Result<()> {
        let closed = self.client.clone().close().await;
        drop(self);
        closed.map_err(|e| anyhow!("closing the browser: {e}"))
    }

    /// An absolute URL for a path of the gateway (absolute URLs pass).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    // -----------------------------------------------------------------
    // Failures that show where the browser was
    // -----------------------------------------------------------------

    /// Saves a PNG of the window under `target/e2e-screens/` and returns
    /// its path.
    pub async fn screenshot(&self, what: &str) -> Result<PathBuf> {
        let png = self
            .client
            .screenshot()
            .await
            .map_err(|e| anyhow!("screenshot: {e}"))?;
        let dir = screens_dir();
        std::fs::create_dir_all(&dir)?;
        let n = self.shots.fetch_add(1, Ordering::SeqCst);
        let path = dir.join(format!("{}-{n:02}-{}.png", self.label, slug(what)));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// An error for `what`, naming the current URL and a fresh screenshot.
    pub async fn fail(&self, what: impl Display) -> anyhow::Error {
        let what = what.to_string();
        let url = match self.client.current_url().await {
            Ok(u) => u.to_string(),
            Err(e) => format!("(unknown: {e})"),
        };
        let shot = match self.screenshot(&what).await {
            Ok(p) => p.display().to_string(),
            Err(e) => format!("(none: {e})"),
        };
        anyhow!("{what}\n    at URL: {url}\n    screenshot: {shot}")
    }

    /// Fails (with URL and screenshot) unless `ok`.
    pub async fn check(&self, ok: bool, what: impl Display) -> Result<()> {
        if ok {
            Ok(())
        } else {
            Err(self.fail(what).await)
        }
    }

    /// Fails (with URL and screenshot) unless `left == right`.
    pub async fn check_eq<T: PartialEq + std::fmt::Debug>(
        &self,
        left: T,
        right: T,
        what: impl Display,
    ) -> Result<()> {
        if left == right {
            Ok(())
        } else {
            Err(self
                .fail(format!("{what}: got {left:?}, expected {right:?}"))
                .await)
        }
    }

    /// Adds URL and screenshot to a WebDriver error.
    async fn wd<T>(&self, r: Result<T, fantoccini::error::CmdError>, what: &str) -> Result<T> {
        match r {
            Ok(v) => Ok(v),
            Err(e) => Err(self.fail(format!("{what}: {e}")).await),
        }
    }

    // -----------------------------------------------------------------
    // Navigation and elements
    // -----------------------------------------------------------------

    /// Opens a path of the gateway (or an absolute URL).
    pub async fn goto(&self, path: &str) -> Result<()> {
        let url = self.url(path);
        let r = self.client.goto(&url).await;
        self.wd(r, &format!("going to {url}")).await
    }

    /// The current URL.
    pub async fn current_url(&self) -> Result<reqwest::Url> {
        let r = self.client.current_url().await;
        self.wd(r, "reading the URL").await
    }

    /// The current path (no query).
    pub async fn path(&self) -> Result<String> {
        Ok(self.current_url().await?.path().to_string())
    }

    /// The element matching `css`, now.
    pub async fn find(&self, css: &str) -> Result<Element> {
        let r = self.client.find(Locator::Css(css)).await;
        self.wd(r, &format!("finding {css}")).await
    }

    /// Every element matching `css`, now (possibly none).
    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>> {
        let r = self.client.find_all(Locator::Css(css)).await;
        self.wd(r, &format!("finding all {css}")).await
    }

    /// Whether something matches `css` now.
    pub async fn exists(&self, css: &str) -> Result<bool> {
        Ok(!self.find_all(css).await?.is_empty())
    }

    /// Replaces the value of the field at `css` with `text`.
    pub async fn fill(&self, css: &str, text: &str) -> Result<()> {
        let field = self.find(css).await?;
        let r = field.clear().await;
        self.wd(r, &format!("clearing {css}")).await?;
        let r = field.send_keys(text).await;
        self.wd(r, &format!("typing into {css}")).await
    }

    /// Clicks the element at `css`.
    pub async fn click(&self, css: &str) -> Result<()> {
        let element = self.find(css).await?;
        let r = element.click().await;
        self.wd(r, &format!("clicking {css}")).await
    }

    /// Chooses the option of the `select` at `css` whose value is `value`.
    pub async fn select(&self, css: &str, value: &str) -> Result<()> {
        let element = self.find(css).await?;
        let r = element.select_by_value(value).await;
        self.wd(r, &format!("choosing {value} in {css}")).await
    }

    /// The rendered text of the element at `css`.
    pub async fn text(&self, css: &str) -> Result<String> {
        let element = self.find(css).await?;
        let r = element.text().await;
        self.wd(r, &format!("reading the text of {css}")).await
    }

    /// An attribute (as written) of the element at `css`.
    pub async fn attr(&self, css: &str, name: &str) -> Result<Option<String>> {
        let element = self.find(css).await?;
        let r = element.attr(name).await;
        self.wd(r, &format!("reading {name} of {css}")).await
    }

    /// A DOM property of the element at `css` (`href` is absolute).
    pub async fn prop(&self, css: &str, name: &str) -> Result<Option<String>> {
        let element = self.find(css).await?;
        let r = element.prop(name).await;
        self.wd(r, &format!("reading property {name} of {css}"))
            .await
    }

    /// The texts of every element matching `css`.
    pub async fn texts(&self, css: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for element in self.find_all(css).await? {
            let r = element.text().await;
            out.push(self.wd(r, &format!("reading the text of {css}")).await?);
        }
        Ok(out)
    }

    /// The whole page's HTML as it is now.
    pub async fn source(&self) -> Result<String> {
        let r = self.client.source().await;
        self.wd(r, "reading the page source").await
    }

    /// The visible text of the page body.
    pub async fn body_text(&self) -> Result<String> {
        self.text("body").await
    }

    /// Runs JavaScript in the page and returns its result.
    pub async fn execute(&self, script: &str) -> Result<Value> {
        let r = self.client.execute(script, vec![]).await;
        self.wd(r, "running a script").await
    }

    /// Gives `path` to the `input[type=file]` at `css`, as choosing the
    /// file in the dialog would.
    pub async fn upload_file(&self, css: &str, path: &Path) -> Result<()> {
        let input = self.find(css).await?;
        let absolute = std::fs::canonicalize(path)
            .with_context(|| format!("file to upload {}", path.display()))?;
        let r = input.send_keys(&absolute.display().to_string()).await;
        self.wd(r, &format!("attaching {} to {css}", absolute.display()))
            .await
    }

    // -----------------------------------------------------------------
    // Waiting
    // -----------------------------------------------------------------

    /// Waits until something matches `css`.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Ok(mut found) = self.client.find_all(Locator::Css(css)).await {
                if !found.is_empty() {
                    return Ok(found.swap_remove(0));
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(self
                    .fail(format!("nothing matched {css} within {timeout:?}"))
                    .await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the text of the element at `css` satisfies `ok`, and
    /// returns it. Tolerates the element vanishing while a page reloads.
    pub async fn wait_for_text(
        &self,
        css: &str,
        ok: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> Result<String> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut last = None;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                if let Ok(text) = element.text().await {
                    if ok(&text) {
                        return Ok(text);
                    }
                    last = Some(text);
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(self
                    .fail(format!(
                        "the text of {css} was not as wanted within {timeout:?}; last seen: {last:?}"
                    ))
                    .await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the current URL satisfies `ok`, and returns it.
    pub async fn wait_for_url(
        &self,
        ok: impl Fn(&reqwest::Url) -> bool,
        what: &str,
        timeout: Duration,
    ) -> Result<reqwest::Url> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut last = None;
        loop {
            if let Ok(url) = self.client.current_url().await {
                if ok(&url) {
                    return Ok(url);
                }
                last = Some(url.to_string());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(self
                    .fail(format!(
                        "the URL never became {what} within {timeout:?}; last: {last:?}"
                    ))
                    .await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    // -----------------------------------------------------------------
    // Keyboard
    // -----------------------------------------------------------------

    /// The element that has the focus.
    pub async fn active(&self) -> Result<Element> {
        let r = self.client.active_element().await;
        self.wd(r, "finding the focused element").await
    }

    /// A short description of the focused element: `tag#id[name]`.
    pub async fn describe_active(&self) -> Result<String> {
        let v = self
            .execute(
                "const e = document.activeElement; if (!e) return '';\
                 return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +\
                 (e.getAttribute('name') ? '[name=' + e.getAttribute('name') + ']' : '');",
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// The id of the focused element ("" when it has none).
    pub async fn active_id(&self) -> Result<String> {
        let active = self.active().await?;
        let r = active.attr("id").await;
        Ok(self
            .wd(r, "reading the focused element's id")
            .await?
            .unwrap_or_default())
    }

    /// Presses one key on the focused element.
    pub async fn press(&self, key: Key) -> Result<()> {
        let active = self.active().await?;
        let r = active.send_keys(&key.to_string()).await;
        self.wd(r, &format!("pressing {:?}", key.to_string())).await
    }

    /// Types text into the focused element.
    pub async fn type_text(&self, text: &str) -> Result<()> {
        let active = self.active().await?;
        let r = active.send_keys(text).await;
        self.wd(r, "typing").await
    }

    /// Presses Tab until the element with id `id` has the focus (at most
    /// `max` presses); returns the ids focused on the way.
    pub async fn tab_to(&self, id: &str, max: usize) -> Result<Vec<String>> {
        let mut seen = Vec::new();
        for _ in 0..max {
            self.press(Key::Tab).await?;
            let now = self.describe_active().await?;
            seen.push(now);
            if self.active_id().await? == id {
                return Ok(seen);
            }
        }
        Err(self
            .fail(format!(
                "Tab never reached #{id} in {max} presses; focus went: {seen:?}"
            ))
            .await)
    }

    // -----------------------------------------------------------------
    // Window and session
    // -----------------------------------------------------------------

    /// Resizes the window (see `NARROW` and `WIDE`).
    pub async fn window_size(&self, (width, height): (u32, u32)) -> Result<()> {
        let r = self.client.set_window_size(width, height).await;
        self.wd(r, &format!("resizing to {width}x{height}")).await
    }

    /// The width of the page's content and of the viewport, in CSS px.
    pub async fn widths(&self) -> Result<(f64, f64)> {
        let v = self
            .execute("return [document.documentElement.scrollWidth, window.innerWidth];")
            .await?;
        let scroll = v[0].as_f64().unwrap_or(f64::NAN);
        let inner = v[1].as_f64().unwrap_or(f64::NAN);
        Ok((scroll, inner))
    }

    /// Fails unless the page fits the viewport's width (no sideways scroll).
    pub async fn check_no_horizontal_scroll(&self) -> Result<()> {
        let fits = self
            .execute("return document.documentElement.scrollWidth <= window.innerWidth + 1;")
            .await?;
        let (scroll, inner) = self.widths().await?;
        self.check(
            fits == Value::Bool(true),
            format!("the page scrolls sideways: scrollWidth {scroll} > innerWidth {inner}"),
        )
        .await
    }

    /// The value of a cookie (HttpOnly ones included).
    pub async fn cookie(&self, name: &str) -> Result<String> {
        let r = self.client.get_named_cookie(name).await;
        Ok(self
            .wd(r, &format!("reading cookie {name}"))
            .await?
            .value()
            .to_string())
    }

    /// GETs a URL (or a gateway path) with the browser's session cookie,
    /// as following a download link would; redirects are not followed.
    pub async fn fetch(&self, url: &str) -> Result<Fetched> {
        let session = self.cookie(SESSION_COOKIE).await?;
        let url = self.url(url);
        let response = self
            .http
            .get(&url)
            .header("cookie", format!("{SESSION_COOKIE}={session}"))
            .send()
            .await
            .with_context(|| format!("fetching {url}"))?;
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let text = response.text().await?;
        Ok(Fetched {
            status,
            content_type,
            text,
        })
    }

    /// Fetches what the link at `css` points to, with the session cookie.
    pub async fn fetch_link(&self, css: &str) -> Result<Fetched> {
        let href = self.prop(css, "href").await?;
        let Some(href) = href.filter(|h| !h.is_empty()) else {
            return Err(self.fail(format!("{css} has no href")).await);
        };
        self.fetch(&href).await
    }
}

/// Kills every process whose command line mentions `marker` (this
/// browser's profile directory): the Chromium that our chromedriver
/// started, should it outlive the driver. Only our own processes carry it.
fn kill_marked(marker: &str) {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    let me = std::process::id();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmdline).contains(marker) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn clean_up(driver: &mut Child, dir: &Path) {
    let _ = driver.kill();
    let _ = driver.wait();
    kill_marked(&dir.join("profile").display().to_string());
    if std::thread::panicking() {
        let log = std::fs::read_to_string(dir.join("chromedriver.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        if !tail.is_empty() {
            eprintln!("---- chromedriver log (last lines) ----");
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

impl Drop for Browser {
    fn drop(&mut self) {
        clean_up(&mut self.driver, &self.dir);
    }
}

/// Cleans up a half-started browser.
struct Pending {
    driver: Option<Child>,
    dir: PathBuf,
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(mut driver) = self.driver.take() {
            clean_up(&mut driver, &self.dir);
        }
    }
}

/// Parses an amount as a page shows it ("$1,234.50", "-$5.00",
/// "($5.00)", "1234.5") into a decimal.
pub fn money(text: &str) -> Option<rust_decimal::Decimal> {
    let t = text.trim().replace('\u{2212}', "-");
    let negative_parens = t.starts_with('(') && t.ends_with(')');
    let cleaned: String = t
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
        .collect();
    let mut d: rust_decimal::Decimal = cleaned.parse().ok()?;
    if negative_parens {
        d = -d;
    }
    Some(d.normalize())
}

/// The first whole number in a text ("Valid rows 22" -> 22).
pub fn first_number(text: &str) -> Option<i64> {
    let digits: String = text
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}
