# A consola de administração (/admin).

## Partilhadas pelas páginas da consola
console-title = Administração
console-overview = Visão geral
console-people = Pessoas
console-roles = Funções
console-apps = Aplicações
console-audit = Auditoria
console-nav-keys = Chaves
console-nav-account = A sua conta
console-name = Nome
console-save = Guardar
console-delete = Eliminar
console-disable = Desativar
console-enable = Ativar
console-give = Atribuir
console-cancel = Cancelar
console-previous = Anterior
console-next = Seguinte
console-since = desde { $when }
console-invalid-request = Pedido inválido.
console-no-such-action = Esta ação não existe.
console-confirm-title = Tem a certeza?

## Estados das contas, das aplicações e das chaves de assinatura (todas no feminino)
console-state-any = qualquer
console-state-active = ativa
console-state-disabled = desativada
console-state-next = seguinte
console-state-retired = retirada

## Quem pode usar a consola
console-not-admin = A consola de administração destina-se a pessoas com a função admin.
console-again-title = Iniciar sessão novamente
console-again-too-long-ago = Para aceder à consola de administração, inicie sessão novamente: o seu último início de sessão foi há demasiado tempo.
console-again-with-totp = Para aceder à consola de administração, inicie sessão novamente com a sua aplicação autenticadora.
console-again-needs-mfa = A consola de administração exige um segundo fator: configure uma aplicação autenticadora na página da sua conta e, depois, inicie sessão novamente com ela.
console-again-submit = Terminar sessão e iniciar sessão novamente
console-again-back = Voltar à sua conta

## Depois de uma ação (?done=…)
console-done-disabled = A conta está desativada: as suas sessões terminaram e as suas autorizações foram revogadas.
console-done-enabled = A conta está ativada.
console-done-ended = Todas as sessões terminaram e todas as autorizações foram revogadas.
console-done-mfa = Os segundos fatores foram removidos.
console-done-unlocked = Os bloqueios de início de sessão foram levantados.
console-done-password = A palavra-passe foi removida e todas as sessões iniciadas terminaram.
console-done-deleted = A conta foi eliminada.
console-done-invited = O convite está a caminho: uma ligação para escolher uma palavra-passe.
console-done-saved = Guardado.
console-done-roles = As funções foram alteradas.
console-done-app-deleted = A aplicação foi eliminada.
console-done-app-disabled = A aplicação está desativada e as suas autorizações foram revogadas.
console-done-app-enabled = A aplicação está ativada.
console-done-rotated = Foi publicada uma nova chave de assinatura.
console-done-rotated-now = A partir de agora, as assinaturas são feitas com uma nova chave de assinatura.

## Visão geral
console-dash-signed-in-as = Sessão iniciada como { $admin }.
console-dash-people = { $people ->
        [one] pessoa
       *[other] pessoas
    } ({ $disabled } { $disabled ->
        [one] desativada
       *[other] desativadas
    })
console-dash-apps = { $apps ->
        [one] aplicação
       *[other] aplicações
    }
console-dash-sign-ins = { $sign_ins ->
        [one] início de sessão
       *[other] inícios de sessão
    } nas últimas 24 horas
console-dash-failures = { $failures ->
        [one] início de sessão falhado
       *[other] inícios de sessão falhados
    } nas últimas 24 horas ({ $locked } { $locked ->
        [one] bloqueio
       *[other] bloqueios
    })

## Pessoas
console-people-search-label = Email, nome ou telemóvel
console-people-role = Função
console-people-state = Estado
console-people-attribute = Atributo (nome:valor)
console-people-attribute-format = Procure um atributo na forma nome:valor.
console-people-search = Pesquisar
console-people-found = { $total ->
    [0] { $total } encontradas.
    [one] { $total } encontrada, página { $page }.
   *[other] { $total } encontradas, página { $page }.
}
console-people-invite = Convidar alguém
console-people-invite-submit = Enviar um convite

## Uma pessoa
console-person-profile = Perfil
console-person-email-verified = Email confirmado
console-person-phone = Telemóvel
console-person-locale = Idioma (BCP 47)
console-person-zoneinfo = Fuso horário
console-person-save-profile = Guardar perfil
console-person-attributes = Atributos
console-person-list-hint = (separados por vírgulas)
console-person-save-attributes = Guardar atributos
console-person-take-away = Retirar
console-person-give-role = Atribuir uma função
console-person-permissions = Permissões:
console-person-none = nenhuma
console-person-nothing = Nenhuma.
console-person-sign-in = Início de sessão
console-person-password = Palavra-passe:
console-person-password-set = definida
console-person-totp = Aplicação autenticadora:
console-person-totp-on = ativa ({ $left ->
        [one] resta { $left } código de recuperação
       *[other] restam { $left } códigos de recuperação
    })
console-person-totp-off = desativada
console-person-end-sessions = Terminar todas as sessões
console-person-unlock = Levantar os bloqueios de início de sessão
console-person-reset-mfa = Remover o segundo fator
console-person-reset-password = Forçar a reposição da palavra-passe
console-person-sessions = Sessões
console-person-last-seen = última atividade em { $when }
console-person-events = Eventos recentes
console-person-all-events = Todos os eventos
console-person-delete-heading = Eliminar
console-person-delete = Eliminar esta conta
console-person-disable-ask = Desativar esta conta? As suas sessões terminam e as suas autorizações são revogadas de imediato.
console-person-end-sessions-ask = Terminar todas as sessões desta conta e revogar todas as autorizações que concedeu?
console-person-end-sessions-yes = Terminá-las
console-person-reset-mfa-ask = Remover a aplicação autenticadora e os códigos de recuperação desta conta?
console-person-reset-mfa-yes = Remover
console-person-reset-password-ask = Remover a palavra-passe desta conta e terminar todas as sessões iniciadas?
console-person-reset-password-yes = Remover a palavra-passe
console-person-delete-ask = Eliminar esta conta definitivamente? Tudo é revogado e os seus dados pessoais são apagados.

## Funções e permissões
console-roles-heading = Funções e permissões
console-roles-system = (sistema)
console-roles-members = { $count ->
        [one] { $count } pessoa
       *[other] { $count } pessoas
    }
console-roles-revoke-label = Retirar { $permission } a { $role }
console-roles-grant-role = Atribuir à função
console-roles-grant-permission = a permissão
console-roles-new-role = Nova função
console-roles-role-name = Nome (a-z, 0-9, . _ : -)
console-roles-description = Descrição
console-roles-create-role = Criar função
console-roles-permissions = Permissões
console-roles-new-permission = Nova permissão (por exemplo, appointments:manage)
console-roles-create-permission = Criar permissão
console-roles-delete-role-ask = Eliminar a função { $name }? Todas as contas a perdem no seu próximo token.
console-roles-delete-permission-ask = Eliminar a permissão { $name }? Todas as funções a perdem.

## Aplicações
console-app-public = pública
console-apps-register-heading = Registar uma aplicação
console-app-redirect-uris = URIs de redirecionamento (um por linha)
console-apps-logout-uris = URIs de redirecionamento após terminar sessão (um por linha)
console-apps-grant-types = Tipos de concessão
console-apps-scopes = Âmbitos (separados por espaços; em branco: openid profile email offline_access)
console-apps-public = Pública (sem segredo; PKCE)
console-app-skip-consent = Aplicação própria: sem página de consentimento
console-apps-register = Registar
console-app-previous-secret = O segredo anterior funciona até { $until } (tempo Unix).
console-app-logout-uris = URIs de redirecionamento após terminar sessão
console-app-web-origins = Origens web (em branco: as origens dos URIs de redirecionamento)
console-app-scopes = Âmbitos
console-app-access-ttl = Duração do token de acesso, em segundos (em branco: a definição)
console-app-id-ttl = Duração do token de ID, em segundos
console-app-refresh-ttl = Duração do token de atualização, em segundos
console-app-secret = Segredo
console-app-grace = O segredo antigo continua a funcionar durante (segundos, no máximo { $grace })
console-app-rotate-secret = Renovar o segredo
console-app-access = Acesso
console-app-seconds = { $name } é um número de segundos
console-app-grace-range = O período de tolerância é de 0 a { $most } segundos.
console-app-rotate-ask = Dar um novo segredo a esta aplicação? O antigo continua a funcionar durante o período de tolerância que escolheu.
console-app-rotate-yes = Renovar
console-app-disable-ask = Desativar esta aplicação? Deixa de se poder autenticar ou de começar um início de sessão, e todas as autorizações que as pessoas lhe concederam são revogadas.
console-app-delete-ask = Eliminar esta aplicação? As suas autorizações são revogadas e os seus consentimentos removidos.
console-app-registered = A aplicação está registada.
console-app-new-secret = A aplicação tem um novo segredo.
console-secret-title = Segredo da aplicação
console-secret-client-id = ID de cliente:
console-secret-copy-now = Copie o segredo agora: é mostrado apenas esta vez e guardado apenas como hash.
console-secret-public = Uma aplicação pública não tem segredo.
console-secret-back = Voltar à aplicação

## Chaves de assinatura
console-keys-title = Chaves de assinatura
console-keys-created = criada em { $when }
console-keys-publish-next = Publicar a próxima chave
console-keys-rotate-now = Renovar agora
console-keys-rotate-now-ask = Assinar com uma nova chave a partir de agora? As aplicações que guardam o conjunto de chaves em cache voltam a obtê-lo quando encontram a nova chave.

## Registo de auditoria
console-audit-heading = Registo de auditoria
console-audit-user = Pessoa (email, telemóvel ou id)
console-audit-kind = Tipo (por exemplo, sign_in.failure ou admin.user_disabled)
console-audit-hours = Últimas horas
console-audit-filter = Filtrar
console-audit-none = Sem eventos.
console-audit-app = aplicação
console-audit-newer = Mais recentes
console-audit-older = Mais antigos
