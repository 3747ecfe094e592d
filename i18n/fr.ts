/** French. */
import type { Catalogue } from "./mod.ts";

/** The French catalogue. */
export const FR: Catalogue = Object.freeze({
  "count.seconds": { one: "{count} seconde", other: "{count} secondes" },
  "count.minutes": { one: "{count} minute", other: "{count} minutes" },
  "count.hours": { one: "{count} heure", other: "{count} heures" },
  "count.days": { one: "{count} jour", other: "{count} jours" },
  "count.seconds_left": { one: "seconde restante", other: "secondes restantes" },

  "prompt.title": "Confirmation de session",
  "prompt.default_message":
    "Un technicien demande un accès à distance à cet appareil. Voulez-vous autoriser cette session ?",
  "prompt.recorded": "Les sessions de terminal à distance sur cet appareil sont enregistrées.",
  "prompt.who": "{technician} souhaite se connecter à cet appareil",
  "prompt.who_as": "{technician} souhaite se connecter à cet appareil en tant que {user}",
  "prompt.a_technician": "Un technicien",
  "prompt.question": "Accepter (a) ou refuser (d) ?",
  "prompt.hint": "Tapez a pour accepter ou d pour refuser",
  "prompt.seconds_left": { one: "{count} seconde restante", other: "{count} secondes restantes" },
  "prompt.answer_within": {
    one: "Veuillez répondre dans {count} seconde.",
    other: "Veuillez répondre dans les {count} secondes.",
  },
  "prompt.accept": "Accepter",
  "prompt.decline": "Refuser",
  "prompt.accepted": "Accepté.",
  "prompt.declined": "Refusé.",
  "prompt.timed_out": "La demande a expiré.",
  "prompt.withdrawn": "La demande a été retirée.",
  "prompt.email_requested": "L'autorisation de cette connexion a été demandée par e-mail",

  "support_app.about_to_join": "Vous êtes sur le point de rejoindre une session d'assistance.",
  "support_app.organization": "Organisation",
  "support_app.technician": "Technicien",
  "support_app.for": "Pour",
  "support_app.ticket": "Ticket",
  "support_app.code": "Code de session",
  "support_app.valid_until": "Valable jusqu'au",
  "support_app.left": "encore {time}",
  "support_app.what_they_see":
    "Votre technicien verra le nom et le système de cet ordinateur, et vous demandera avant de le contrôler ou de transférer des fichiers.",
  "support_app.join_question":
    "Rejoindre cette session d'assistance ? Tapez o puis Entrée pour rejoindre, ou n pour annuler : ",
  "support_app.joined": "Connecté à votre technicien",
  "support_app.joined_again": "De nouveau connecté à votre technicien.",
  "support_app.help":
    "Gardez cette fenêtre ouverte pendant que votre technicien vous aide. Il vous sera demandé votre accord avant qu'il puisse contrôler cet ordinateur ou transférer des fichiers. Appuyez sur Ctrl+C pour quitter.",
  "support_app.left_session": "Vous avez quitté la session d'assistance.",
  "support_app.not_joined": "Vous n'avez pas rejoint la session d'assistance.",
  "support_app.reconnecting": "La connexion avec votre technicien a été perdue. Reconnexion…",

  "layout.skip": "Aller au contenu",

  "layout.footer": "assistance à distance auto-hébergée",

  "approval.title": "Demande de connexion",
  "approval.asks": "{technician} demande à se connecter à {device}.",
  "approval.asks_as": "{technician} demande à se connecter à {device} en tant que {user}.",
  "approval.a_technician": "Un technicien",
  "approval.a_device": "un appareil",
  "approval.requested": "Demandée le",
  "approval.sent_to": "Envoyée à",
  "approval.reason": "Motif",
  "approval.progress": "Décisions à ce jour",
  "approval.step.device": "paramètres de l’appareil",
  "approval.step.group": "paramètres du groupe",
  "approval.step.agent": "défini sur l’appareil",
  "approval.step.line": "{source} : {progress}",
  "approval.step.allows": "{allows} autorisations sur {needed}",
  "approval.step.denies": "{denies} refus sur {needed}",
  "approval.step.first_tier": "en attente du niveau 1 sur {tiers}",
  "approval.step.tier_since": "en attente du niveau {tier} depuis {time}",
  "approval.step.next_tier": "le niveau {next} est sollicité à {time}",
  "approval.step.one_decision": "en attente d’une décision",
  "approval.pending": "Cette connexion attend votre décision",
  "approval.seconds_left": {
    one: "{count} seconde restante.",
    other: "{count} secondes restantes.",
  },
  "approval.nobody_connects":
    "Personne ne se connecte sans l'accord de quelqu'un avant la fin du délai.",
  "approval.comment": "Commentaire (facultatif)",
  "approval.comment_hint":
    "Le technicien le voit avec votre décision, et il est conservé dans le journal d'audit.",
  "approval.allow": "Autoriser la session",
  "approval.deny": "Refuser",
  "approval.already_allowed": "Cette connexion a déjà été autorisée",
  "approval.already_denied": "Cette connexion a déjà été refusée",
  "approval.allowed_by": "Cette connexion a déjà été autorisée par {by} à {at}.",
  "approval.denied_by": "Cette connexion a déjà été refusée par {by} à {at}.",
  "approval.you_allowed": "Vous avez autorisé cette demande à {at}.",
  "approval.you_denied": "Vous avez refusé cette demande à {at}.",
  "approval.recorded":
    "Votre décision est enregistrée ; la connexion attend encore une autre approbation",
  "approval.expired": "Cette demande d'autorisation a expiré",
  "approval.withdrawn": "Cette demande d'autorisation n'est plus valable",
  "approval.own_request":
    "Vous avez demandé cette connexion vous-même, vous ne pouvez donc ni l'autoriser ni la refuser. Un autre destinataire doit décider",
  "approval.unknown_link":
    "Ce lien n'est pas valable. Il a peut-être été mal saisi, ou la demande correspondante n'existe plus.",
  "approval.choose": "Choisissez Autoriser la session ou Refuser",
  "approval.too_many": "Trop de tentatives, réessayez plus tard",
  "mail.approval.subject": "Autorisation demandée pour une connexion à distance",
  "mail.approval.organization": "Organisation",
  "mail.approval.technician": "Technicien",
  "mail.approval.device": "Appareil",
  "mail.approval.as_user": "En tant que",
  "mail.approval.reason": "Motif",
  "mail.approval.requested": "Demandée le",
  "mail.approval.answer_by": "Répondre avant",
  "mail.approval.about_minutes": {
    one: "environ {count} minute",
    other: "environ {count} minutes",
  },
  "mail.approval.escalated":
    "Vous êtes sollicité parce que les approbateurs précédents (niveau {tier}) n'ont pas répondu à temps.",
  "mail.approval.check_request": "Vérifier la demande",
  "mail.approval.instructions":
    "Ouvrez le lien pour autoriser ou refuser la connexion. L'ouvrir ne décide rien ; seuls les boutons de la page le font. Si vous ne vous attendiez pas à ce message, refusez ou ignorez-le : sans réponse, la demande expire et personne ne se connecte.",
  "mail.approval.footer":
    "Ouvrir le lien ne décide rien ; seuls les boutons de la page le font. Sans réponse, la demande expire et personne ne se connecte.",

  "join.title": "Rejoindre une session d'assistance",
  "join.session_title": "Session d'assistance",
  "join.app_not_available": "Application non disponible",
  "join.expired": "La session d'assistance a expiré",
  "join.invalid": "La session d'assistance n'est pas valable",
  "join.deleted": "La session d'assistance n'est pas valable. Veuillez contacter votre technicien.",
  "join.too_many": "Trop de tentatives, réessayez plus tard",
  "join.contact_technician":
    "Si vous avez encore besoin d'aide, demandez une nouvelle session à votre technicien.",
  "join.invited": "{technician} de {organization} vous a invité à une session d'assistance.",
  "join.invited_named":
    "{technician} de {organization} vous a invité, {customer}, à une session d'assistance.",
  "join.code": "Code de session",
  "join.valid_until": "Valable jusqu'au {at} · encore {left}",
  "join.download": "Télécharger l'application d'assistance",
  "join.no_app":
    "L'application d'assistance n'est pas encore sur ce serveur. Demandez à votre technicien de vous l'envoyer.",
  "join.quickest":
    "Le plus rapide : collez cette ligne dans un terminal. Elle télécharge l'application depuis ce serveur, vérifie qu'elle n'a pas été modifiée (SHA-256) et la lance avec votre code.",
  "join.or_download": "Ou téléchargez-la",
  "join.download_for": "Télécharger pour {platform}",
  "join.other_systems": "Autres systèmes :",
  "join.unpack_run": "Décompressez-la, puis lancez ceci dans son dossier :",
  "join.checksums": "Sommes de contrôle SHA-256 de chaque paquet",
  "join.next": "Et ensuite",
  "join.next_agree": "L'application indique qui vous allez rejoindre et vous demande votre accord.",
  "join.next_permission":
    "Votre technicien peut ensuite vous demander la permission de voir et contrôler votre ordinateur ou de transférer des fichiers. Rien ne se passe tant que vous ne l'autorisez pas dans l'application.",
  "join.next_close": "Fermez l'application quand vous voulez ; cela met fin à son accès.",
  "join.code_hint": "Les 9 chiffres que votre technicien vous a donnés",
  "join.code_invalid": "Un code de session comporte 9 chiffres",
  "join.continue": "Continuer",
  "join.copy": "Copier",
  "join.copied": "Copié",
});
