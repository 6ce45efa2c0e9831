//! The main window's size and position, remembered between runs in `<data dir>/window.json`.
//!
//! Pixels are physical. A saved position is only reused when the window's title bar would land
//! on a monitor that exists now (a laptop undocked from its second screen must not open the app
//! off-screen); otherwise the window keeps the system's placement and only the size is reused,
//! shrunk to fit the largest monitor.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The file name under the data directory.
pub const FILE_NAME: &str = "window.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowGeometry {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
    #[serde(default)]
    pub maximized: bool,
}

/// A monitor's area in the same physical desktop coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonitorArea {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
}

impl MonitorArea {
    fn contains(&self, x: i32, y: i32) -> bool {
        let (x, y) = (i64::from(x), i64::from(y));
        let (left, top) = (i64::from(self.x), i64::from(self.y));
        x >= left && y >= top && x < left + i64::from(self.width) && y < top + i64::from(self.height)
    }
}

/// Where to put the window at start: the size always, the position only when it is visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub width: u32,
    pub height: u32,
    pub position: Option<(i32, i32)>,
    pub maximized: bool,
}

/// How much of the title bar must be on a monitor for the position to be kept: enough to grab it.
const GRAB_X: i32 = 120;
const GRAB_Y: i32 = 16;

/// Fits a saved geometry to the monitors present now. `min` is the window's minimum size.
/// None when there is nothing usable (no monitors reported, or a zero-sized save).
pub fn fit(saved: &WindowGeometry, monitors: &[MonitorArea], min: (u32, u32)) -> Option<Placement> {
    if saved.width == 0 || saved.height == 0 {
        return None;
    }
    let largest = monitors.iter().max_by_key(|m| u64::from(m.width) * u64::from(m.height))?;
    let grab = (saved.x.saturating_add(GRAB_X), saved.y.saturating_add(GRAB_Y));
    let home = monitors.iter().find(|m| m.contains(grab.0, grab.1));
    let bounds = home.unwrap_or(largest);
    let width = saved.width.clamp(min.0.min(bounds.width), bounds.width.max(min.0));
    let height = saved.height.clamp(min.1.min(bounds.height), bounds.height.max(min.1));
    Some(Placement { width, height, position: home.map(|_| (saved.x, saved.y)), maximized: saved.maximized })
}

/// Reads the saved geometry; a missing or unreadable file is no saved geometry (logged).
pub fn load(dir: &Path) -> Option<WindowGeometry> {
    let path = dir.join(FILE_NAME);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!("cannot read {}: {e}; using the default window size", path.display());
            return None;
        }
    };
    serde_json::from_str(&text)
        .map_err(|e| tracing::warn!("ignoring {}: {e}; using the default window size", path.display()))
        .ok()
}

/// Writes the geometry atomically ([`crate::fs::write_atomic`]), so a crash mid-write leaves
/// the previous file.
pub fn save(dir: &Path, geometry: &WindowGeometry) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(geometry).map_err(std::io::Error::other)?;
    crate::fs::write_atomic(&dir.join(FILE_NAME), &json)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAPTOP: MonitorArea = MonitorArea { x: 0, y: 0, width: 1920, height: 1080 };
    const RIGHT: MonitorArea = MonitorArea { x: 1920, y: 0, width: 2560, height: 1440 };
    const MIN: (u32, u32) = (640, 480);

    fn at(x: i32, y: i32, width: u32, height: u32) -> WindowGeometry {
        WindowGeometry { x, y, width, height, maximized: false }
    }

    #[test]
    fn a_visible_position_and_size_are_kept() {
        let p = fit(&at(2100, 100, 1400, 900), &[LAPTOP, RIGHT], MIN).unwrap();
        assert_eq!(p, Placement { width: 1400, height: 900, position: Some((2100, 100)), maximized: false });
    }

    #[test]
    fn a_window_on_a_monitor_that_is_gone_keeps_its_size_but_not_its_position() {
        let p = fit(&at(2100, 100, 1400, 900), &[LAPTOP], MIN).unwrap();
        assert_eq!((p.width, p.height, p.position), (1400, 900, None));
        // Bigger than any monitor now: shrunk to the largest.
        let p = fit(&at(2100, 100, 2500, 1400), &[LAPTOP], MIN).unwrap();
        assert_eq!((p.width, p.height, p.position), (1920, 1080, None));
    }

    #[test]
    fn a_title_bar_above_or_left_of_the_screen_is_not_reused() {
        assert_eq!(fit(&at(-1000, 50, 800, 600), &[LAPTOP], MIN).unwrap().position, None);
        assert_eq!(fit(&at(100, -200, 800, 600), &[LAPTOP], MIN).unwrap().position, None);
        // Partly off the left edge but grabbable: kept.
        assert_eq!(fit(&at(-60, 10, 800, 600), &[LAPTOP], MIN).unwrap().position, Some((-60, 10)));
    }

    #[test]
    fn sizes_respect_the_minimum_and_degenerate_input_gives_nothing() {
        let p = fit(&at(10, 10, 100, 50), &[LAPTOP], MIN).unwrap();
        assert_eq!((p.width, p.height), MIN);
        assert_eq!(fit(&at(10, 10, 0, 600), &[LAPTOP], MIN), None);
        assert_eq!(fit(&at(10, 10, 800, 600), &[], MIN), None);
        let tiny = MonitorArea { x: 0, y: 0, width: 600, height: 400 };
        let p = fit(&at(0, 0, 800, 600), &[tiny], MIN).unwrap();
        assert_eq!((p.width, p.height), (640, 480), "never below the window's own minimum");
        let far = WindowGeometry { x: i32::MAX, y: i32::MAX, width: 800, height: 600, maximized: true };
        assert_eq!(fit(&far, &[LAPTOP], MIN).unwrap().position, None);
        assert!(fit(&far, &[LAPTOP], MIN).unwrap().maximized);
    }

    #[test]
    fn saves_and_loads_and_ignores_a_corrupt_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()), None);
        let g = WindowGeometry { x: -5, y: 30, width: 1200, height: 800, maximized: true };
        save(dir.path(), &g).unwrap();
        assert_eq!(load(dir.path()), Some(g));
        assert!(!dir.path().join("window.json.tmp").exists());
        std::fs::write(dir.path().join(FILE_NAME), "{\"x\": 1,").unwrap();
        assert_eq!(load(dir.path()), None);
    }
}
