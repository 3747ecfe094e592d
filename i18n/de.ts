/** German. */
import type { Catalogue } from "./mod.ts";

/** The German catalogue. */
export const DE: Catalogue = Object.freeze({
  "count.seconds": { one: "{count} Sekunde", other: "{count} Sekunden" },
  "count.minutes": { one: "{count} Minute", other: "{count} Minuten" },
  "count.hours": { one: "{count} Stunde", other: "{count} Stunden" },
  "count.days": { one: "{count} Tag", other: "{count} Tage" },
  "count.seconds_left": { one: "Sekunde übrig", other: "Sekunden übrig" },

  "prompt.title": "Sitzungsbestätigung",
  "prompt.default_message":
    "Ein Techniker bittet um Fernzugriff auf dieses Gerät. Möchten Sie diese Sitzung zulassen?",
  "prompt.recorded": "Fernterminal-Sitzungen auf diesem Gerät werden aufgezeichnet.",
  "prompt.who": "{technician} möchte sich mit diesem Gerät verbinden",
  "prompt.who_as": "{technician} möchte sich mit diesem Gerät als {user} verbinden",
  "prompt.a_technician": "Ein Techniker",
  "prompt.question": "Annehmen (a) oder ablehnen (d)?",
  "prompt.hint": "Geben Sie a zum Annehmen oder d zum Ablehnen ein",
  "prompt.seconds_left": { one: "noch {count} Sekunde", other: "noch {count} Sekunden" },
  "prompt.answer_within": {
    one: "Bitte antworten Sie innerhalb von {count} Sekunde.",
    other: "Bitte antworten Sie innerhalb von {count} Sekunden.",
  },
  "prompt.accept": "Annehmen",
  "prompt.decline": "Ablehnen",
  "prompt.accepted": "Angenommen.",
  "prompt.declined": "Abgelehnt.",
  "prompt.timed_out": "Die Anfrage ist abgelaufen.",
  "prompt.withdrawn": "Die Anfrage wurde zurückgezogen.",
  "prompt.email_requested": "Die Freigabe dieser Verbindung wurde per E-Mail angefragt",

  "support_app.about_to_join": "Sie treten gleich einer Support-Sitzung bei.",
  "support_app.organization": "Organisation",
  "support_app.technician": "Techniker",
  "support_app.for": "Für",
  "support_app.ticket": "Ticket",
  "support_app.code": "Sitzungscode",
  "support_app.valid_until": "Gültig bis",
  "support_app.left": "noch {time}",
  "support_app.what_they_see":
    "Ihr Techniker sieht den Namen und das System dieses Computers und fragt Sie, bevor er ihn steuert oder Dateien überträgt.",
  "support_app.join_question":
    "Dieser Support-Sitzung beitreten? Geben Sie j ein und drücken Sie die Eingabetaste, oder n zum Abbrechen: ",
  "support_app.joined": "Mit Ihrem Techniker verbunden",
  "support_app.joined_again": "Wieder mit Ihrem Techniker verbunden.",
  "support_app.help":
    "Lassen Sie dieses Fenster geöffnet, solange Ihr Techniker Ihnen hilft. Sie werden gefragt, bevor er diesen Computer steuern oder Dateien übertragen kann. Drücken Sie Strg+C, um die Sitzung zu verlassen.",
  "support_app.left_session": "Sie haben die Support-Sitzung verlassen.",
  "support_app.not_joined": "Sie sind der Support-Sitzung nicht beigetreten.",
  "support_app.reconnecting":
    "Die Verbindung zu Ihrem Techniker wurde unterbrochen. Neue Verbindung wird aufgebaut…",

  "layout.skip": "Zum Inhalt springen",

  "layout.footer": "selbst gehosteter Fernsupport",

  "approval.title": "Verbindungsanfrage",
  "approval.asks": "{technician} möchte sich mit {device} verbinden.",
  "approval.asks_as": "{technician} möchte sich mit {device} als {user} verbinden.",
  "approval.a_technician": "Ein Techniker",
  "approval.a_device": "einem Gerät",
  "approval.requested": "Angefragt",
  "approval.sent_to": "Gesendet an",
  "approval.reason": "Grund",
  "approval.progress": "Bisherige Entscheidungen",
  "approval.step.device": "Geräteeinstellungen",
  "approval.step.group": "Gruppeneinstellungen",
  "approval.step.agent": "auf dem Gerät festgelegt",
  "approval.step.line": "{source}: {progress}",
  "approval.step.allows": "{allows} von {needed} Zustimmungen",
  "approval.step.denies": "{denies} von {needed} Ablehnungen",
  "approval.step.first_tier": "wartet auf Stufe 1 von {tiers}",
  "approval.step.tier_since": "wartet seit {time} auf Stufe {tier}",
  "approval.step.next_tier": "Stufe {next} wird um {time} gefragt",
  "approval.step.one_decision": "wartet auf eine Entscheidung",
  "approval.pending": "Diese Verbindung wartet auf Ihre Entscheidung",
  "approval.seconds_left": { one: "Noch {count} Sekunde.", other: "Noch {count} Sekunden." },
  "approval.nobody_connects":
    "Niemand verbindet sich, solange es niemand vor Ablauf der Zeit erlaubt.",
  "approval.comment": "Kommentar (optional)",
  "approval.comment_hint":
    "Der Techniker sieht ihn mit Ihrer Entscheidung, und er wird im Prüfprotokoll gespeichert.",
  "approval.allow": "Sitzung erlauben",
  "approval.deny": "Ablehnen",
  "approval.already_allowed": "Diese Verbindung wurde bereits erlaubt",
  "approval.already_denied": "Diese Verbindung wurde bereits abgelehnt",
  "approval.allowed_by": "Diese Verbindung wurde bereits von {by} um {at} erlaubt.",
  "approval.denied_by": "Diese Verbindung wurde bereits von {by} um {at} abgelehnt.",
  "approval.you_allowed": "Sie haben diese Anfrage um {at} erlaubt.",
  "approval.you_denied": "Sie haben diese Anfrage um {at} abgelehnt.",
  "approval.recorded":
    "Ihre Entscheidung ist gespeichert; die Verbindung wartet noch auf eine weitere Freigabe",
  "approval.expired": "Diese Freigabeanfrage ist abgelaufen",
  "approval.withdrawn": "Diese Freigabeanfrage ist nicht mehr gültig",
  "approval.own_request":
    "Sie haben diese Verbindung selbst angefragt und können sie daher weder erlauben noch ablehnen. Ein anderer Empfänger muss entscheiden",
  "approval.unknown_link":
    "Dieser Link ist ungültig. Vielleicht wurde er falsch eingegeben, oder die zugehörige Anfrage existiert nicht mehr.",
  "approval.choose": "Wählen Sie Sitzung erlauben oder Ablehnen",
  "approval.too_many": "Zu viele Versuche, bitte versuchen Sie es später erneut",
  "mail.approval.subject": "Freigabe für eine Fernverbindung angefragt",
  "mail.approval.organization": "Organisation",
  "mail.approval.technician": "Techniker",
  "mail.approval.device": "Gerät",
  "mail.approval.as_user": "Als Benutzer",
  "mail.approval.reason": "Grund",
  "mail.approval.requested": "Angefragt",
  "mail.approval.answer_by": "Antwort bis",
  "mail.approval.about_minutes": { one: "etwa {count} Minute", other: "etwa {count} Minuten" },
  "mail.approval.escalated":
    "Sie werden gefragt, weil die Freigebenden vor Ihnen (Stufe {tier}) nicht rechtzeitig geantwortet haben.",
  "mail.approval.check_request": "Anfrage prüfen",
  "mail.approval.instructions":
    "Öffnen Sie den Link, um die Verbindung zu erlauben oder abzulehnen. Das Öffnen entscheidet nichts; nur die Schaltflächen auf der Seite tun das. Wenn Sie dies nicht erwartet haben, lehnen Sie ab oder ignorieren Sie diese E-Mail: Ohne Antwort läuft die Anfrage ab und niemand verbindet sich.",
  "mail.approval.footer":
    "Das Öffnen des Links entscheidet nichts; nur die Schaltflächen auf der Seite tun das. Ohne Antwort läuft die Anfrage ab und niemand verbindet sich.",

  "join.title": "Einer Support-Sitzung beitreten",
  "join.session_title": "Support-Sitzung",
  "join.app_not_available": "App nicht verfügbar",
  "join.expired": "Die Support-Sitzung ist abgelaufen",
  "join.invalid": "Die Support-Sitzung ist ungültig",
  "join.deleted": "Die Support-Sitzung ist ungültig. Bitte wenden Sie sich an Ihren Techniker.",
  "join.too_many": "Zu viele Versuche, bitte versuchen Sie es später erneut",
  "join.contact_technician":
    "Wenn Sie weiterhin Hilfe brauchen, bitten Sie Ihren Techniker um eine neue Sitzung.",
  "join.invited": "{technician} von {organization} hat Sie zu einer Support-Sitzung eingeladen.",
  "join.invited_named":
    "{technician} von {organization} hat Sie, {customer}, zu einer Support-Sitzung eingeladen.",
  "join.code": "Sitzungscode",
  "join.valid_until": "Gültig bis {at} · noch {left}",
  "join.download": "Support-App herunterladen",
  "join.no_app":
    "Die Support-App liegt noch nicht auf diesem Server. Bitten Sie Ihren Techniker, sie Ihnen zu schicken.",
  "join.quickest":
    "Am schnellsten: Fügen Sie diese Zeile in ein Terminal ein. Sie lädt die App von diesem Server, prüft, dass sie unverändert ist (SHA-256), und startet sie mit Ihrem Code.",
  "join.or_download": "Oder laden Sie sie herunter",
  "join.download_for": "Herunterladen für {platform}",
  "join.other_systems": "Andere Systeme:",
  "join.unpack_run": "Entpacken Sie sie und führen Sie dies in ihrem Ordner aus:",
  "join.checksums": "SHA-256-Prüfsummen aller Pakete",
  "join.next": "Wie es weitergeht",
  "join.next_agree": "Die App zeigt, wem Sie beitreten, und bittet Sie um Ihre Zustimmung.",
  "join.next_permission":
    "Ihr Techniker kann Sie dann um Erlaubnis bitten, Ihren Computer zu sehen und zu steuern oder Dateien zu übertragen. Nichts geschieht, bevor Sie es in der App erlauben.",
  "join.next_close": "Schließen Sie die App, wann Sie wollen; damit endet sein Zugriff.",
  "join.code_hint": "Die 9 Ziffern, die Ihr Techniker Ihnen gegeben hat",
  "join.code_invalid": "Ein Sitzungscode hat 9 Ziffern",
  "join.continue": "Weiter",
  "join.copy": "Kopieren",
  "join.copied": "Kopiert",
});
