# bash completion for airlockctl. Plugin names come from the live host (`airlockctl status`),
# through the same --socket as the command line being completed.

_airlockctl_plugins() {
    local socket=()
    local i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            --socket) socket=(--socket "${COMP_WORDS[i + 1]}") ;;
            --socket=*) socket=("${COMP_WORDS[i]}") ;;
            --host-user) socket+=(--host-user "${COMP_WORDS[i + 1]}") ;;
            --host-user=*) socket+=("${COMP_WORDS[i]}") ;;
        esac
    done
    airlockctl "${socket[@]}" status 2>/dev/null | awk 'NR > 1 && /^[^ ]/ { print $1 }'
}

_airlockctl() {
    local cur prev command i
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD - 1]}"
    local commands="status metrics start stop restart logs describe call"

    if [[ "$prev" == "--socket" ]]; then
        COMPREPLY=($(compgen -f -- "$cur"))
        return
    fi
    if [[ "$prev" == "--host-user" ]]; then
        COMPREPLY=($(compgen -u -- "$cur"))
        return
    fi
    command=""
    local arguments=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            --socket | --host-user) ((i++)) ;;
            -*) ;;
            *) if [[ -z "$command" ]]; then command="${COMP_WORDS[i]}"; else ((arguments++)); fi ;;
        esac
    done
    if [[ -z "$command" ]]; then
        COMPREPLY=($(compgen -W "$commands --socket --host-user --help --version" -- "$cur"))
        return
    fi
    case "$command" in
        status)
            COMPREPLY=($(compgen -W "--json $(_airlockctl_plugins)" -- "$cur")) ;;
        start | stop | restart | describe)
            ((arguments == 0)) && COMPREPLY=($(compgen -W "$(_airlockctl_plugins)" -- "$cur")) ;;
        logs)
            COMPREPLY=($(compgen -W "--follow $( ((arguments == 0)) && _airlockctl_plugins)" -- "$cur")) ;;
        call)
            if [[ "$cur" == -* ]]; then
                COMPREPLY=($(compgen -W "--timeout --wait" -- "$cur"))
            elif [[ "$prev" != "--timeout" ]] && ((arguments == 0)); then
                COMPREPLY=($(compgen -W "$(_airlockctl_plugins)" -- "$cur"))
            fi ;;
    esac
}
complete -F _airlockctl airlockctl
