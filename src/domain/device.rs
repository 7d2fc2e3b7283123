//! A session's browser and place in words, for the people whose sessions they are: "Firefox on
//! Windows", "a private network".

use std::net::IpAddr;

/// The browser and system a `User-Agent` names, in words ("Safari on iPhone"); "An unknown
/// browser" when it names none this knows.
pub fn describe(user_agent: &str) -> String {
    let has = |needle: &str| user_agent.contains(needle);
    // Order matters: Edge and Opera say "Chrome" too, Chrome says "Safari", and every phone
    // browser on an iPhone says "Safari".
    let browser = if has("Edg/") || has("EdgA/") || has("EdgiOS/") {
        Some("Edge")
    } else if has("OPR/") || has("Opera") {
        Some("Opera")
    } else if has("Firefox/") || has("FxiOS/") {
        Some("Firefox")
    } else if has("Chrome/") || has("Chromium/") || has("CriOS/") {
        Some("Chrome")
    } else if has("Safari/") && has("Version/") {
        Some("Safari")
    } else if has("curl/") {
        Some("curl")
    } else {
        None
    };
    let system = if has("iPhone") {
        Some("iPhone")
    } else if has("iPad") {
        Some("iPad")
    } else if has("Android") {
        Some("Android")
    } else if has("Windows") {
        Some("Windows")
    } else if has("CrOS") {
        Some("ChromeOS")
    } else if has("Mac OS X") || has("Macintosh") {
        Some("macOS")
    } else if has("Linux") || has("X11") {
        Some("Linux")
    } else {
        None
    };
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser.to_owned(),
        (None, Some(system)) => format!("A browser on {system}"),
        (None, None) => "An unknown browser".to_owned(),
    }
}

/// Where an address is, as far as the portal knows without a location database: this
/// computer, a private network, or the address itself.
pub fn place(ip: &str) -> String {
    match ip.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(ip) if ip.is_loopback() => format!("{ip} (this server)"),
        Ok(IpAddr::V4(v4)) if v4.is_private() || v4.is_link_local() => format!("{v4} (a private network)"),
        Ok(IpAddr::V6(v6)) if v6.is_unique_local() || v6.is_unicast_link_local() => {
            format!("{v6} (a private network)")
        }
        Ok(ip) => ip.to_string(),
        Err(_) => "Unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_in_words() {
        let cases = [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                "Edge on Windows",
            ),
            ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Linux"),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
                "Safari on iPhone",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
                "Safari on macOS",
            ),
            ("curl/8.5.0", "curl"),
            ("", "An unknown browser"),
        ];
        for (agent, words) in cases {
            assert_eq!(describe(agent), words, "{agent}");
        }
    }

    #[test]
    fn places_in_words() {
        assert_eq!(place("127.0.0.1"), "127.0.0.1 (this server)");
        assert_eq!(place("::ffff:10.1.2.3"), "10.1.2.3 (a private network)");
        assert_eq!(place("198.51.100.7"), "198.51.100.7");
        assert_eq!(place(""), "Unknown");
    }
}
