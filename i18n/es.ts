/** Spanish. */
import type { Catalogue } from "./mod.ts";

/** The Spanish catalogue. */
export const ES: Catalogue = Object.freeze({
  "prompt.title": "Confirmación de sesión",
  "prompt.default_message":
    "Un técnico solicita acceso remoto a este dispositivo. ¿Desea permitir esta sesión?",
  "prompt.recorded": "Las sesiones de terminal remoto en este dispositivo se graban.",
  "prompt.who": "{technician} quiere conectarse a este dispositivo",
  "prompt.who_as": "{technician} quiere conectarse a este dispositivo como {user}",
  "prompt.a_technician": "Un técnico",
  "prompt.question": "¿Aceptar (a) o rechazar (d)?",
  "prompt.hint": "Escriba a para aceptar o d para rechazar",
  "prompt.seconds_left": { one: "queda {count} segundo", other: "quedan {count} segundos" },
  "prompt.answer_within": {
    one: "Responda en {count} segundo.",
    other: "Responda en {count} segundos.",
  },
  "prompt.accept": "Aceptar",
  "prompt.decline": "Rechazar",
  "prompt.accepted": "Aceptada.",
  "prompt.declined": "Rechazada.",
  "prompt.timed_out": "La solicitud ha caducado.",
  "prompt.withdrawn": "La solicitud fue retirada.",
  "prompt.email_requested": "La autorización de esta conexión se ha solicitado por correo",

  "support_app.about_to_join": "Está a punto de unirse a una sesión de soporte.",
  "support_app.organization": "Organización",
  "support_app.technician": "Técnico",
  "support_app.for": "Para",
  "support_app.ticket": "Ticket",
  "support_app.code": "Código de sesión",
  "support_app.valid_until": "Válido hasta",
  "support_app.left": "quedan {time}",
  "support_app.what_they_see":
    "Su técnico verá el nombre y el sistema de este equipo, y le preguntará antes de controlarlo o de transferir archivos.",
  "support_app.join_question":
    "¿Unirse a esta sesión de soporte? Escriba s y pulse Intro para unirse, o n para cancelar: ",
  "support_app.joined": "Conectado con su técnico",
  "support_app.joined_again": "Conectado de nuevo con su técnico.",
  "support_app.help":
    "Mantenga esta ventana abierta mientras su técnico le ayuda. Se le preguntará antes de que pueda controlar este equipo o transferir archivos. Pulse Ctrl+C para salir.",
  "support_app.left_session": "Ha salido de la sesión de soporte.",
  "support_app.not_joined": "No se ha unido a la sesión de soporte.",
  "support_app.reconnecting": "Se perdió la conexión con su técnico. Reconectando…",

  "approval.title": "Solicitud de conexión",
  "approval.asks": "{technician} pide conectarse a {device}.",
  "approval.asks_as": "{technician} pide conectarse a {device} como {user}.",
  "approval.a_technician": "Un técnico",
  "approval.a_device": "un dispositivo",
  "approval.requested": "Solicitada",
  "approval.sent_to": "Enviada a",
  "approval.reason": "Motivo",
  "approval.progress": "Decisiones hasta ahora",
  "approval.pending": "Esta conexión espera su decisión",
  "approval.seconds_left": { one: "Queda {count} segundo.", other: "Quedan {count} segundos." },
  "approval.nobody_connects":
    "Nadie se conecta a menos que alguien lo permita antes de que se acabe el tiempo.",
  "approval.comment": "Comentario (opcional)",
  "approval.comment_hint":
    "El técnico lo ve junto con su decisión, y se guarda en el registro de auditoría.",
  "approval.allow": "Permitir sesión",
  "approval.deny": "Denegar",
  "approval.already_allowed": "Esta conexión ya ha sido permitida",
  "approval.already_denied": "Esta conexión ya ha sido denegada",
  "approval.allowed_by": "Esta conexión ya fue permitida por {by} a las {at}.",
  "approval.denied_by": "Esta conexión ya fue denegada por {by} a las {at}.",
  "approval.you_allowed": "Usted permitió esta solicitud a las {at}.",
  "approval.you_denied": "Usted denegó esta solicitud a las {at}.",
  "approval.recorded": "Su decisión ha quedado registrada; la conexión aún espera otra aprobación",
  "approval.expired": "Esta solicitud de autorización ha caducado",
  "approval.withdrawn": "Esta solicitud de autorización ya no es válida",
  "approval.own_request":
    "Usted mismo pidió esta conexión, así que no puede permitirla ni denegarla. Debe decidir otro destinatario",
  "approval.unknown_link":
    "Este enlace no es válido. Puede que esté mal escrito, o que la solicitud a la que pertenecía ya no exista.",
  "approval.choose": "Elija Permitir sesión o Denegar",
  "approval.too_many": "Demasiados intentos, inténtelo más tarde",
  "mail.approval.subject": "Autorización solicitada para una conexión remota",
  "mail.approval.organization": "Organización",
  "mail.approval.technician": "Técnico",
  "mail.approval.device": "Dispositivo",
  "mail.approval.as_user": "Como usuario",
  "mail.approval.reason": "Motivo",
  "mail.approval.requested": "Solicitada",
  "mail.approval.answer_by": "Responder antes de",
  "mail.approval.about_minutes": {
    one: "aproximadamente {count} minuto",
    other: "aproximadamente {count} minutos",
  },
  "mail.approval.escalated":
    "Se le pregunta porque los aprobadores anteriores (nivel {tier}) no respondieron a tiempo.",
  "mail.approval.check_request": "Revisar solicitud",
  "mail.approval.instructions":
    "Abra el enlace para permitir o denegar la conexión. Abrirlo no decide nada; solo los botones de la página lo hacen. Si no esperaba este mensaje, deniéguela o ignórelo: sin respuesta, la solicitud caduca y nadie se conecta.",
  "mail.approval.footer":
    "Abrir el enlace no decide nada; solo los botones de la página lo hacen. Sin respuesta, la solicitud caduca y nadie se conecta.",

  "join.title": "Unirse a una sesión de soporte",
  "join.session_title": "Sesión de soporte",
  "join.app_not_available": "Aplicación no disponible",
  "join.expired": "La sesión de soporte ha caducado",
  "join.invalid": "La sesión de soporte no es válida",
  "join.deleted": "La sesión de soporte no es válida. Póngase en contacto con su técnico.",
  "join.too_many": "Demasiados intentos, inténtelo más tarde",
  "join.contact_technician": "Si aún necesita ayuda, pida una nueva sesión a su técnico.",
  "join.invited": "{technician} de {organization} le ha invitado a una sesión de soporte.",
  "join.invited_named":
    "{technician} de {organization} le ha invitado, {customer}, a una sesión de soporte.",
  "join.code": "Código de sesión",
  "join.valid_until": "Válido hasta {at} · quedan {left}",
  "join.download": "Descargar la aplicación de soporte",
  "join.no_app":
    "La aplicación de soporte aún no está en este servidor. Pida a su técnico que se la envíe.",
  "join.quickest":
    "Lo más rápido: pegue esta línea en un terminal. Descarga la aplicación de este servidor, comprueba que no ha sido modificada (SHA-256) y la inicia con su código.",
  "join.or_download": "O descárguela",
  "join.download_for": "Descargar para {platform}",
  "join.other_systems": "Otros sistemas:",
  "join.unpack_run": "Descomprímala y ejecute esto en su carpeta:",
  "join.checksums": "Sumas de comprobación SHA-256 de cada paquete",
  "join.next": "Qué pasa después",
  "join.next_agree": "La aplicación muestra a quién se va a unir y le pide su conformidad.",
  "join.next_permission":
    "Después su técnico puede pedirle permiso para ver y controlar su equipo o transferir archivos. No ocurre nada hasta que usted lo permita en la aplicación.",
  "join.next_close": "Cierre la aplicación cuando quiera; eso termina su acceso.",
  "join.code_hint": "Los 9 dígitos que le dio su técnico",
  "join.code_invalid": "Un código de sesión tiene 9 dígitos",
  "join.continue": "Continuar",
  "join.copy": "Copiar",
  "join.copied": "Copiado",
});
