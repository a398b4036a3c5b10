// Notification mail: the codes of its errors (a closed list: an edge mapping a code not here fails to compile).
// Its errors are the common ones and NotFound (mail, blocked_address); this list is empty for now.
export type MailErrorCode = never;
