//! Bulk import: pick a text or CSV file, declare the job, stream the file up while polling the
//! job's committed progress for a progress bar, then show the report with the rejected lines.
//! Imports that were interrupted (the upload broke off, or the server stopped) are listed, each
//! resumed by uploading the same file to it again. Also the links to export the list in the
//! same formats.

use leptos::prelude::*;
use leptos::task::spawn_local;
use rebound_api::v1::{CreateImport, ImportFormat, ImportJob, SuppressionReason};

use crate::api::{self, ApiFailure};
use crate::app::Session;
use crate::pages::common::{FormError, sleep};

/// How often the job's progress is read while the upload runs.
const POLL_MS: i32 = 250;

/// Percent of the file committed: 100 once the job is done, else bytes committed over its size.
fn percent(job: &ImportJob, file_bytes: f64) -> f64 {
    if job.state == "done" {
        return 100.0;
    }
    let total = job.bytes_total.map_or(file_bytes, |t| t as f64);
    if total <= 0.0 { 0.0 } else { (job.bytes_read as f64 / total * 100.0).clamp(0.0, 100.0) }
}

#[component]
pub fn ImportPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let file_input = NodeRef::<leptos::html::Input>::new();
    let format = RwSignal::new(ImportFormat::Text);
    let scope = RwSignal::new(String::new());
    let job = RwSignal::new(None::<ImportJob>);
    let file_bytes = RwSignal::new(0.0f64);
    let uploading = RwSignal::new(false);
    let failure = RwSignal::new(None::<ApiFailure>);
    let on_file = move |_| {
        let name = file_input.get().and_then(|i| i.files()).and_then(|f| f.get(0)).map(|f| f.name());
        if let Some(name) = name {
            format.set(if name.to_lowercase().ends_with(".csv") { ImportFormat::Csv } else { ImportFormat::Text });
        }
    };
    let chosen = move || {
        let file = file_input.get().and_then(|i| i.files()).and_then(|f| f.get(0));
        if file.is_none() {
            failure.set(Some(ApiFailure { status: None, message: "Choose a file first.".to_owned(), field: None }));
        }
        file
    };
    let interrupted = RwSignal::new(Vec::<ImportJob>::new());
    let refresh = move || {
        spawn_local(async move {
            if let Ok(jobs) = api::import_jobs().await {
                interrupted.set(jobs.into_iter().filter(|j| j.state == "interrupted").collect());
            }
        })
    };
    if session.can_write() {
        refresh();
    }
    // Uploads the chosen file to a job, showing its progress, then lists the interrupted jobs again.
    let feed = move |target: ImportJob, file: web_sys::File| {
        job.set(Some(target.clone()));
        file_bytes.set(file.size());
        uploading.set(true);
        spawn_local(async move {
            spawn_local(poll(target.id, uploading, job));
            match api::upload_import(target.id, target.format, &file).await {
                Ok(done) => job.set(Some(done)),
                Err(f) => failure.set(Some(f)),
            }
            uploading.set(false);
            refresh();
        });
    };
    let resume = move |target: ImportJob| {
        let Some(file) = chosen() else { return };
        failure.set(None);
        feed(target, file);
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(file) = chosen() else { return };
        let scope = scope.get_untracked();
        let request = CreateImport {
            format: format.get_untracked(),
            scope: (!scope.trim().is_empty()).then(|| scope.trim().to_owned()),
            reason: Some(SuppressionReason::Manual),
        };
        failure.set(None);
        job.set(None);
        spawn_local(async move {
            match api::create_import(&request).await {
                Ok(created) => feed(created, file),
                Err(f) => failure.set(Some(f)),
            }
        });
    };
    view! {
        <section class="page import">
            <h1>"Import"</h1>
            <p class="hint">"A text file has one address or domain per line (# starts a comment); a CSV file has a header naming an address column, and optionally reason, scope, note and expires_at."</p>
            <Show
                when=move || session.can_write()
                fallback=|| view! { <p class="card" data-testid="import-not-allowed">"Importing needs the operator or admin role."</p> }
            >
                <form class="card" on:submit=submit>
                    <label for="import-file">"File"</label>
                    <input id="import-file" type="file" accept=".txt,.csv,text/plain,text/csv" node_ref=file_input on:change=on_file/>
                    <label for="import-format">"Format"</label>
                    <select id="import-format" prop:value=move || format.get().as_str()
                        on:change=move |ev| { if let Some(f) = ImportFormat::parse(&event_target_value(&ev)) { format.set(f) } }>
                        <option value="text">"text"</option>
                        <option value="csv">"csv"</option>
                    </select>
                    <label for="import-scope">"Scope of lines that name none"</label>
                    <input id="import-scope" autocomplete="off" placeholder="global"
                        prop:value=scope on:input=move |ev| scope.set(event_target_value(&ev))/>
                    <FormError failure=failure fields=&[]/>
                    <button type="submit" disabled=uploading>"Import"</button>
                </form>
                <Show when=move || !interrupted.get().is_empty()>
                    <section class="card" aria-labelledby="interrupted-title" data-testid="interrupted-imports">
                        <h2 id="interrupted-title">"Interrupted imports"</h2>
                        <p class="hint">"Choose the same file above, then resume: the lines already committed are read past."</p>
                        <ul>
                            {move || interrupted.get().into_iter().map(|j| {
                                let label = format!("Import {} · {} · {} lines committed", j.id, j.format.as_str(), j.lines);
                                let name = format!("Resume import {}", j.id);
                                view! {
                                    <li>
                                        {label}" "
                                        <button type="button" disabled=uploading on:click=move |_| resume(j.clone())>{name}</button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    </section>
                </Show>
            </Show>
            {move || job.get().map(|j| view! { <Progress job=j file_bytes=file_bytes.get()/> })}
            <section class="card export" aria-labelledby="export-title">
                <h2 id="export-title">"Export the list"</h2>
                <p>
                    <a href=api::export_url(ImportFormat::Text) download data-testid="export-text">"Download as text"</a>
                    " · "
                    <a href=api::export_url(ImportFormat::Csv) download data-testid="export-csv">"Download as CSV"</a>
                </p>
            </section>
        </section>
    }
}

/// Reads the job's committed progress every `POLL_MS` until the upload has answered (or the page
/// is left, which disposes `uploading`).
async fn poll(id: i64, uploading: RwSignal<bool>, job: RwSignal<Option<ImportJob>>) {
    let running = move || uploading.try_get_untracked().unwrap_or(false);
    while running() {
        if let Ok(progress) = api::import_job(id).await
            && running()
        {
            job.set(Some(progress));
        }
        sleep(POLL_MS).await;
    }
}

#[component]
fn Progress(job: ImportJob, file_bytes: f64) -> impl IntoView {
    // Whole numbers only: formatting floats would pull the float printer into the download.
    let pct = percent(&job, file_bytes).round() as u32;
    let finished = matches!(job.state.as_str(), "done" | "failed" | "interrupted");
    view! {
        <section class="card progress" aria-labelledby="progress-title">
            <h2 id="progress-title">"Import "{job.id}" · "{job.state.clone()}</h2>
            <progress max="100" value=pct.to_string() data-testid="import-progress" aria-label="Committed"></progress>
            <p aria-live="polite" data-testid="import-progress-text">
                {format!("{pct}% · {} lines committed · {} of {} bytes", job.lines, job.bytes_read,
                    job.bytes_total.unwrap_or(file_bytes as i64))}
            </p>
            {job.error.clone().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {finished.then(|| view! { <Report job=job.clone()/> })}
        </section>
    }
}

#[component]
fn Report(job: ImportJob) -> impl IntoView {
    let rows = job.rejected_lines.into_iter().map(|r| {
        view! {
            <tr><td>{r.line}</td><td><code>{r.text}</code></td><td>{r.error}</td></tr>
        }
    });
    view! {
        <dl class="facts" data-testid="import-report">
            <dt>"Lines"</dt><dd data-testid="report-lines">{job.lines}</dd>
            <dt>"Created"</dt><dd data-testid="report-created">{job.created}</dd>
            <dt>"Reopened"</dt><dd>{job.reopened}</dd>
            <dt>"Unchanged"</dt><dd>{job.unchanged}</dd>
            <dt>"Rejected"</dt><dd data-testid="report-rejected">{job.rejected}</dd>
        </dl>
        {(job.rejected > 0).then(|| view! {
            <table class="list" data-testid="rejected-lines">
                <caption>"Rejected lines"</caption>
                <thead><tr><th scope="col">"Line"</th><th scope="col">"Text"</th><th scope="col">"Why"</th></tr></thead>
                <tbody>{rows.collect_view()}</tbody>
            </table>
        })}
    }
}
