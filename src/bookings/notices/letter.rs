//! The text of appointment emails in English and Portuguese, and their calendar files
//! (RFC 5545, through `icalendar`).

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use icalendar::{Calendar, Component, Event, EventLike, EventStatus};

use crate::bookings::store::appointments::Appointment;
use crate::resource::mail::Letter;

/// The language of a letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Pt,
}

impl Lang {
    /// Portuguese for a `pt…` locale, English otherwise.
    pub fn of(locale: Option<&str>) -> Lang {
        match locale {
            Some(l) if l.to_ascii_lowercase().starts_with("pt") => Lang::Pt,
            _ => Lang::En,
        }
    }
}

/// What one letter is about.
#[derive(Debug)]
pub struct About<'a> {
    pub appointment: &'a Appointment,
    /// `requested`, `confirmed`, `declined`, `cancelled` or `reminder`.
    pub event: &'a str,
    /// `client` or `consultant`: who reads it.
    pub party: &'a str,
    /// The other party's name, when known.
    pub other: Option<&'a str>,
    pub lang: Lang,
    /// The reader's time zone.
    pub zone: Tz,
    /// Host part of Message-ID and calendar UID (the issuer's host).
    pub host: &'a str,
    /// Stable per letter: the outbox row's id.
    pub letter_id: &'a str,
    /// Whether a cancellation withdraws a calendar entry the person was sent.
    pub withdraw_calendar: bool,
    pub now: i64,
}

/// The letter for `about`.
pub fn render(about: &About) -> Letter {
    let a = about.appointment;
    let en = about.lang == Lang::En;
    let when = when(a.starts_at, about.zone, about.lang);
    let service = a.service_name.as_str();
    let minutes = a.duration_minutes;
    let to_client = about.party == "client";
    let other = about.other.unwrap_or(match (en, to_client) {
        (true, true) => "your consultant",
        (true, false) => "someone",
        (false, true) => "o seu consultor",
        (false, false) => "uma pessoa",
    });
    // At the start of a sentence.
    let other_first = capitalised(other);
    let reason = a.reason.as_deref().filter(|r| !r.trim().is_empty());
    let mut lines: Vec<String> = Vec::new();
    let subject = match (about.event, en) {
        ("requested", true) => {
            lines.push(format!(
                "{other_first} asked to book {service} ({minutes} min) on {when}."
            ));
            lines.push("Confirm or decline the request in the app.".into());
            format!("New request: {service}, {when}")
        }
        ("requested", false) => {
            lines.push(format!(
                "{other_first} pediu uma marcação de {service} ({minutes} min) para {when}."
            ));
            lines.push("Confirme ou recuse o pedido na aplicação.".into());
            format!("Novo pedido: {service}, {when}")
        }
        ("confirmed", true) => {
            lines.push(format!(
                "Your appointment is confirmed: {service} ({minutes} min) with {other} on {when}."
            ));
            lines.push("The attached calendar file adds it to your calendar.".into());
            format!("Confirmed: {service}, {when}")
        }
        ("confirmed", false) => {
            lines.push(format!(
                "A sua marcação está confirmada: {service} ({minutes} min) com {other} em {when}."
            ));
            lines.push("O ficheiro de calendário em anexo acrescenta-a ao seu calendário.".into());
            format!("Confirmada: {service}, {when}")
        }
        ("declined", true) => {
            lines.push(format!(
                "Your request for {service} on {when} was declined."
            ));
            if let Some(r) = reason {
                lines.push(format!("Reason: {r}"));
            }
            lines.push("You can book another time in the app.".into());
            format!("Declined: {service}, {when}")
        }
        ("declined", false) => {
            lines.push(format!(
                "O seu pedido de {service} para {when} foi recusado."
            ));
            if let Some(r) = reason {
                lines.push(format!("Motivo: {r}"));
            }
            lines.push("Pode marcar outra hora na aplicação.".into());
            format!("Recusada: {service}, {when}")
        }
        ("cancelled", true) => {
            let by = match a.cancelled_by.as_deref() {
                Some("client") if to_client => "you",
                Some("client") => "the person who booked it",
                Some("consultant") if !to_client => "you",
                Some("consultant") => "the consultant",
                _ => "an administrator",
            };
            lines.push(format!(
                "The appointment {service} with {other} on {when} was cancelled by {by}."
            ));
            if let Some(r) = reason {
                lines.push(format!("Reason: {r}"));
            }
            if about.withdraw_calendar {
                lines.push("The attached calendar file removes it from your calendar.".into());
            }
            format!("Cancelled: {service}, {when}")
        }
        ("cancelled", false) => {
            let by = match a.cancelled_by.as_deref() {
                Some("client") if to_client => "por si",
                Some("client") => "pela pessoa que a marcou",
                Some("consultant") if !to_client => "por si",
                Some("consultant") => "pelo consultor",
                _ => "por um administrador",
            };
            lines.push(format!(
                "A marcação {service} com {other} em {when} foi cancelada {by}."
            ));
            if let Some(r) = reason {
                lines.push(format!("Motivo: {r}"));
            }
            if about.withdraw_calendar {
                lines.push("O ficheiro de calendário em anexo retira-a do seu calendário.".into());
            }
            format!("Cancelada: {service}, {when}")
        }
        (_, true) => {
            lines.push(format!(
                "A reminder: {service} ({minutes} min) with {other} on {when}."
            ));
            format!("Reminder: {service}, {when}")
        }
        (_, false) => {
            lines.push(format!(
                "Um lembrete: {service} ({minutes} min) com {other} em {when}."
            ));
            format!("Lembrete: {service}, {when}")
        }
    };
    let text = lines.join("\n\n") + "\n";
    let html = format!(
        "<!doctype html><html lang=\"{}\"><body>{}</body></html>",
        if en { "en" } else { "pt" },
        lines
            .iter()
            .map(|l| format!("<p>{}</p>", escape(l)))
            .collect::<String>()
    );
    let mut attachments = Vec::new();
    // Published, not an invitation (there is no organiser to answer): the cancellation is
    // the same event again with a higher SEQUENCE and STATUS:CANCELLED, which replaces it.
    let calendar = match about.event {
        "confirmed" if to_client => Some((EventStatus::Confirmed, 0)),
        "cancelled" if to_client && about.withdraw_calendar => Some((EventStatus::Cancelled, 1)),
        _ => None,
    };
    if let Some((status, sequence)) = calendar {
        let ics = ics(about, &subject, &text, status, sequence);
        attachments.push((
            "appointment.ics".to_string(),
            "text/calendar; charset=utf-8; method=PUBLISH".to_string(),
            ics.into_bytes(),
        ));
    }
    Letter {
        subject,
        text,
        html,
        attachments,
        message_id: Some(format!("{}@{}", about.letter_id, about.host)),
        auto_submitted: true,
    }
}

/// The appointment as a calendar file: one VEVENT whose UID stays the appointment's, so a
/// cancellation (a higher SEQUENCE, `STATUS:CANCELLED`) replaces the entry a confirmation
/// added.
fn ics(
    about: &About,
    summary: &str,
    description: &str,
    status: EventStatus,
    sequence: u32,
) -> String {
    // Line breaks as one `\n` each: icalendar escapes LF, and a bare CR (a reason typed
    // on another system) would break the line structure.
    let plain = |text: &str| text.replace("\r\n", "\n").replace('\r', "\n");
    let a = about.appointment;
    let utc = |t: i64| Utc.timestamp_opt(t, 0).single().unwrap_or_default();
    let event = Event::new()
        .uid(&format!("{}@{}", a.id, about.host))
        .timestamp(utc(about.now))
        .starts(utc(a.starts_at))
        .ends(utc(a.ends_at))
        .summary(&plain(summary))
        .description(plain(description).trim_end())
        .status(status)
        .sequence(sequence)
        .done();
    let mut calendar = Calendar::new();
    calendar.append_property(("METHOD", "PUBLISH"));
    calendar.push(event);
    calendar.done().to_string()
}

const WEEKDAYS_EN: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const WEEKDAYS_PT: [&str; 7] = [
    "segunda-feira",
    "terça-feira",
    "quarta-feira",
    "quinta-feira",
    "sexta-feira",
    "sábado",
    "domingo",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_PT: [&str; 12] = [
    "janeiro",
    "fevereiro",
    "março",
    "abril",
    "maio",
    "junho",
    "julho",
    "agosto",
    "setembro",
    "outubro",
    "novembro",
    "dezembro",
];

/// `1772546400` → "Tuesday 3 March 2026, 14:00 (Europe/Lisbon)" or
/// "terça-feira, 3 de março de 2026, 14:00 (Europe/Lisbon)".
pub fn when(at: i64, zone: Tz, lang: Lang) -> String {
    let t: DateTime<Tz> = zone
        .timestamp_opt(at, 0)
        .single()
        .unwrap_or_else(|| Utc.timestamp_opt(0, 0).unwrap().with_timezone(&zone));
    let day = t.weekday().num_days_from_monday() as usize;
    let month = t.month0() as usize;
    match lang {
        Lang::En => format!(
            "{} {} {} {}, {:02}:{:02} ({})",
            WEEKDAYS_EN[day],
            t.day(),
            MONTHS_EN[month],
            t.year(),
            t.hour(),
            t.minute(),
            zone.name()
        ),
        Lang::Pt => format!(
            "{}, {} de {} de {}, {:02}:{:02} ({})",
            WEEKDAYS_PT[day],
            t.day(),
            MONTHS_PT[month],
            t.year(),
            t.hour(),
            t.minute(),
            zone.name()
        ),
    }
}

/// `someone` → `Someone`.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn appointment() -> Appointment {
        Appointment {
            id: "ap1".into(),
            consultant_id: "c1".into(),
            consultant_subject: "s-cons".into(),
            client_subject: "s-client".into(),
            service_id: "sv1".into(),
            service_name: "Tax <advice>".into(),
            duration_minutes: 45,
            price: 5000,
            currency: "EUR".into(),
            time_zone: "Europe/Lisbon".into(),
            // 2026-03-03 14:00 UTC, 14:00 in Lisbon (winter time).
            starts_at: 1_772_546_400,
            ends_at: 1_772_546_400 + 45 * 60,
            status: "confirmed".into(),
            reason: None,
            cancelled_by: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn about<'a>(a: &'a Appointment, event: &'a str, party: &'a str, lang: Lang) -> About<'a> {
        About {
            appointment: a,
            event,
            party,
            other: Some("Cora"),
            lang,
            zone: "Europe/Lisbon".parse().unwrap(),
            host: "id.example.com",
            letter_id: "n1",
            withdraw_calendar: false,
            now: 1_772_000_000,
        }
    }

    #[test]
    fn times_read_in_the_readers_language_and_zone() {
        let lisbon: Tz = "Europe/Lisbon".parse().unwrap();
        let sao_paulo: Tz = "America/Sao_Paulo".parse().unwrap();
        assert_eq!(
            when(1_772_546_400, lisbon, Lang::En),
            "Tuesday 3 March 2026, 14:00 (Europe/Lisbon)"
        );
        assert_eq!(
            when(1_772_546_400, sao_paulo, Lang::Pt),
            "terça-feira, 3 de março de 2026, 11:00 (America/Sao_Paulo)"
        );
        assert_eq!(Lang::of(Some("pt-BR")), Lang::Pt);
        assert_eq!(Lang::of(Some("en-GB")), Lang::En);
        assert_eq!(Lang::of(None), Lang::En);
    }

    #[test]
    fn a_confirmation_carries_a_calendar_file_and_html_is_escaped() {
        let a = appointment();
        let letter = render(&about(&a, "confirmed", "client", Lang::En));
        assert_eq!(
            letter.subject,
            "Confirmed: Tax <advice>, Tuesday 3 March 2026, 14:00 (Europe/Lisbon)"
        );
        assert!(
            letter.html.contains("Tax &lt;advice&gt;"),
            "{}",
            letter.html
        );
        assert!(!letter.html.contains("<advice>"));
        assert_eq!(letter.message_id.as_deref(), Some("n1@id.example.com"));
        let (name, media_type, ics) = &letter.attachments[0];
        assert_eq!(name, "appointment.ics");
        assert!(media_type.starts_with("text/calendar"));
        let ics = String::from_utf8(ics.clone()).unwrap();
        for line in [
            "BEGIN:VCALENDAR",
            "METHOD:PUBLISH",
            "UID:ap1@id.example.com",
            "DTSTART:20260303T140000Z",
            "DTEND:20260303T144500Z",
            "STATUS:CONFIRMED",
            "SEQUENCE:0",
        ] {
            assert!(ics.contains(&format!("{line}\r\n")), "{line} in {ics}");
        }
        // Nothing for the consultant's copy of other events.
        let letter = render(&about(&a, "requested", "consultant", Lang::Pt));
        assert!(letter.attachments.is_empty());
        assert!(letter.subject.starts_with("Novo pedido: Tax <advice>"));
        assert!(letter.text.contains("Cora pediu uma marcação"));
    }

    fn ab_with(a: &Appointment) -> About<'_> {
        let mut ab = about(a, "cancelled", "client", Lang::Pt);
        ab.withdraw_calendar = true;
        ab
    }

    #[test]
    fn someone_unnamed_reads_right_mid_sentence_and_at_its_start() {
        let a = appointment();
        let mut ab = about(&a, "requested", "consultant", Lang::En);
        ab.other = None;
        assert!(render(&ab).text.starts_with("Someone asked to book"));
        ab.event = "reminder";
        assert!(render(&ab).text.contains("with someone on"));
        ab.lang = Lang::Pt;
        ab.event = "requested";
        assert!(render(&ab).text.starts_with("Uma pessoa pediu"));
    }

    #[test]
    fn a_cancellation_withdraws_the_calendar_entry_it_replaces() {
        let mut a = appointment();
        a.status = "cancelled".into();
        a.cancelled_by = Some("consultant".into());
        a.reason = Some("Ill".into());
        let mut ab = about(&a, "cancelled", "client", Lang::Pt);
        ab.withdraw_calendar = true;
        let letter = render(&ab);
        assert!(letter.text.contains("foi cancelada pelo consultor"));
        assert!(letter.text.contains("Motivo: Ill"));
        let ics = String::from_utf8(letter.attachments[0].2.clone()).unwrap();
        assert!(ics.contains("METHOD:PUBLISH\r\n"));
        assert!(ics.contains("STATUS:CANCELLED\r\n"));
        assert!(ics.contains("SEQUENCE:1\r\n"));
        assert!(ics.contains("UID:ap1@id.example.com\r\n"));
        // A bare CR in a reason does not break the file's lines.
        a.reason = Some("Ill\rsorry".into());
        let letter = render(&ab_with(&a));
        let ics = String::from_utf8(letter.attachments[0].2.clone()).unwrap();
        assert!(!ics.replace("\r\n", "").contains('\r'), "{ics:?}");
        // Without a confirmation sent, nothing to withdraw.
        let letter = render(&about(&a, "cancelled", "client", Lang::En));
        assert!(letter.attachments.is_empty());
        assert!(letter.text.contains("was cancelled by the consultant"));
    }
}
