-- Phone numbers in one canonical form: E.164 with a leading '+' ('+4915123456789'), the form
-- domain::phone::canonical gives. Stored numbers were bare digits (WhatsApp wa_ids, typed numbers
-- after the old normalisation) or, from an API channel, text kept as given. Separators (space,
-- dash, dot, slash, brackets) go, a leading '+' or '00' starts the country code, and 7 to 15
-- digits not starting with 0 make a number. Anything else is not a phone number: it leaves the
-- phone column and is kept in the contact's attributes as "phone_as_given", so nothing is lost
-- (WhatsApp ids stay in contact_identities as Meta sent them).
UPDATE contacts SET phone = '+' || p.d
  FROM (SELECT id,
               CASE WHEN s LIKE '+%' THEN substr(s, 2)
                    WHEN s LIKE '00%' THEN substr(s, 3)
                    ELSE s END AS d
          FROM (SELECT id,
                       replace(replace(replace(replace(replace(replace(trim(phone),
                           ' ', ''), '-', ''), '.', ''), '/', ''), '(', ''), ')', '') AS s
                  FROM contacts WHERE phone IS NOT NULL)) AS p
 WHERE contacts.id = p.id
   AND p.d <> '' AND p.d NOT GLOB '*[^0-9]*'
   AND length(p.d) BETWEEN 7 AND 15 AND p.d NOT LIKE '0%';

UPDATE contacts SET attributes = json_set(attributes, '$.phone_as_given', phone), phone = NULL
 WHERE phone IS NOT NULL AND json_valid(attributes)
   AND NOT (phone GLOB '+[1-9]*' AND substr(phone, 2) NOT GLOB '*[^0-9]*'
            AND length(phone) BETWEEN 8 AND 16);
