//! The console's entry point: mounts the app on `<body>`.

mod api;
mod app;
mod pages;
mod rules;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
